import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import App from '../src/App.svelte';
import { errorMessage, toBackendError } from '../src/lib/backend';
import { remedyWords, withRemedy } from '../src/lib/remedy';
import type { Remedy } from '../src/lib/types';
import { account, fake } from './fixtures';

// Every remedy the broker has (sesame-ipc's remedy.rs).
const all: Remedy[] = [
  { do: 'sign_in', provider: 'work' },
  { do: 'sign_in' },
  { do: 'sign_in_again', provider: 'work' },
  { do: 'sign_in_in_browser', provider: 'work' },
  { do: 'name_account', ids: ['work-1', 'work-2'] },
  { do: 'list_accounts' },
  { do: 'answer_pending' },
  { do: 'list_pending' },
  { do: 'list_grants' },
  { do: 'allow_program' },
  { do: 'store_secret', provider: 'bot' },
];

describe('remedyWords', () => {
  it('says what to do in the app, naming its pages and buttons', () => {
    expect(remedyWords({ do: 'sign_in_again', provider: 'work' })).toBe('sign in to work again with “Sign in again” on the Accounts page');
    expect(remedyWords({ do: 'sign_in', provider: 'work' })).toContain('“Add account” on the Accounts page');
    expect(remedyWords({ do: 'sign_in' })).toContain('“Add account”');
    expect(remedyWords({ do: 'sign_in_in_browser', provider: 'work' })).toContain('“Sign in with browser”');
    expect(remedyWords({ do: 'name_account', ids: ['work-1', 'work-2'] })).toContain('work-1, work-2');
    expect(remedyWords({ do: 'list_accounts' })).toContain('Accounts page');
    expect(remedyWords({ do: 'answer_pending' })).toContain('consent window');
    expect(remedyWords({ do: 'list_pending' })).toContain('consent window');
    expect(remedyWords({ do: 'list_grants' })).toContain('Apps & grants page');
    expect(remedyWords({ do: 'allow_program' })).toContain('consent window');
  });

  it('names a CLI command only for what the app cannot do: storing a client secret', () => {
    for (const r of all) {
      const words = remedyWords(r);
      expect(words, r.do).not.toBe('');
      if (r.do === 'store_secret') expect(words).toContain('`sesame secret set bot`');
      else expect(words, r.do).not.toMatch(/sesame /);
    }
  });

  it('follows the message, and leaves a message without a remedy alone', () => {
    expect(withRemedy('there is no grant 7', { do: 'list_grants' })).toBe('there is no grant 7; the Apps & grants page shows what is allowed');
    expect(withRemedy('disk full', null)).toBe('disk full');
    expect(withRemedy('x', { do: 'something_newer' } as unknown as Remedy)).toBe('x');
  });
});

describe('errors with a remedy', () => {
  it('keep it from the command and show it with the message', () => {
    const raw = { kind: 'reauth_required', message: 'account `work-1` must sign in again (refused)', remedy: { do: 'sign_in_again', provider: 'work' } };
    expect(toBackendError(raw).remedy).toEqual({ do: 'sign_in_again', provider: 'work' });
    expect(toBackendError(raw).message).toBe('account `work-1` must sign in again (refused)');
    expect(errorMessage(raw)).toBe('account `work-1` must sign in again (refused); sign in to work again with “Sign in again” on the Accounts page');
    expect(toBackendError({ kind: 'internal', message: 'm', remedy: 'nonsense' }).remedy).toBeNull();
  });

  it('come from the fake backend as from the app', async () => {
    const b = fake();
    const e = await b.revokeGrant(99).catch(toBackendError);
    expect(e).toMatchObject({ kind: 'no_such_grant', remedy: { do: 'list_grants' } });
  });

  it('are shown on the page in the app’s words', async () => {
    const b = fake({ accounts: [account()] });
    b.fail('logout', 'reauth_required', 'account `local-1a2b3c4d` must sign in again (refused)', { do: 'sign_in_again', provider: 'local' });
    location.hash = '#accounts';
    render(App, { props: { backend: b } });
    const button = await screen.findByTestId('signout-local-1a2b3c4d');
    await fireEvent.click(button);
    await fireEvent.click(button);
    const result = await screen.findByTestId('signout-result');
    expect(result.textContent).toContain('must sign in again (refused); sign in to local again with “Sign in again” on the Accounts page');
    expect(result.textContent).not.toContain('sesame login');
  });
});
