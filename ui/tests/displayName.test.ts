// Accounts are named by the DTO's display_name (AccountInfo::display_name in Rust): the
// pages show it, and the fake backend sends it as the app does.
import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import App from '../src/App.svelte';
import { FakeBackend } from '../src/lib/fakeBackend';
import type { AccountView } from '../src/lib/types';
import { account, fake, NOW } from './fixtures';

describe('accounts from the fake backend', () => {
  it('carry display_name, by the same rule as the app (email, then name, then subject)', async () => {
    const b = fake({
      accounts: [account({ id: 'a' }), account({ id: 'b', email: null }), account({ id: 'c', email: null, name: null })],
    });
    expect((await b.accounts()).map((a) => a.display_name)).toEqual(['alice@example.test', 'Alice', 'alice']);
  });
});

describe('pages', () => {
  it('show the display_name the backend sends, not one of their own', async () => {
    class Named extends FakeBackend {
      override async accounts(): Promise<AccountView[]> {
        return (await super.accounts()).map((a) => ({ ...a, display_name: `${a.id} as named by the app` }));
      }
    }
    const b = new Named(fake({ accounts: [account()] }).state);
    b.state.grants = [{ id: 1, app: { key: '/usr/bin/msmtp', name: 'msmtp', exe: '/usr/bin/msmtp', sandboxed: false }, account: 'local-1a2b3c4d', scopes: ['email'], created_at: NOW, last_used_at: NOW, use_count: 1, until_lock: false }];
    location.hash = '#accounts';
    const { unmount } = render(App, { props: { backend: b } });
    expect((await screen.findByTestId('account-row')).textContent).toContain('local-1a2b3c4d as named by the app');
    unmount();
    location.hash = '#grants';
    render(App, { props: { backend: b } });
    expect((await screen.findByTestId('grant-row')).textContent).toContain('local-1a2b3c4d as named by the app');
  });
});
