import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import ConsentApp from '../src/consent/ConsentApp.svelte';
import { account, fake, pending } from './fixtures';

const ids = ['approve-once', 'approve-always', 'deny'];
const buttons = () => ids.map((id) => screen.getByTestId(id) as HTMLButtonElement);

describe('consent window', () => {
  it('shows who asks for what, then unlocks the answers after the delay', async () => {
    const b = fake({ pending: [pending({ waiting: 3 })], securityDelayMs: 150 });
    render(ConsentApp, { props: { backend: b } });
    expect((await screen.findByTestId('consent-app-name')).textContent).toBe('mail-sync.py');
    expect(screen.getByTestId('consent-exe').textContent).toBe('/usr/bin/python3.11');
    expect(screen.getByText('/home/me/bin/mail-sync.py')).toBeTruthy();
    expect(screen.getByTestId('consent-sandboxed').textContent).toMatch(/Not sandboxed/);
    expect(screen.queryByTestId('consent-run-by')).toBeNull();
    expect(screen.queryByTestId('consent-generic')).toBeNull();
    expect(screen.getByTestId('consent-account').textContent).toBe('local-1a2b3c4d');
    const scopes = screen.getAllByTestId('consent-scope');
    expect(scopes.map((s) => s.dataset.scope)).toEqual(['email', 'openid']);
    expect(scopes[0].textContent).toContain('See your email address');
    expect(screen.getByTestId('consent-time-left').textContent).toMatch(/[12]:\d\d left/);
    expect(screen.getByText(/3 requests wait/)).toBeTruthy();

    expect(buttons().every((b) => b.disabled)).toBe(true);
    await fireEvent.keyDown(window, { key: 'Enter' });
    expect(b.calls.some((c) => c.method === 'consentAnswer')).toBe(false);

    await waitFor(() => expect(buttons().every((b) => !b.disabled)).toBe(true));
    await fireEvent.click(screen.getByTestId('approve-once'));
    await screen.findByText('Nothing waiting');
    expect(b.calls.find((c) => c.method === 'consentAnswer')?.args).toEqual([3, 'approve_once']);
  });

  it('names the account as people know it, its id small beside it; a scope without words once', async () => {
    const b = fake({ accounts: [account()], pending: [pending({ scopes: ['api:read', 'email'] })] });
    render(ConsentApp, { props: { backend: b } });
    expect((await screen.findByTestId('consent-account')).textContent).toBe('alice@example.test');
    expect(screen.getByTestId('consent-account-id').textContent).toBe('local-1a2b3c4d');
    const [raw, email] = screen.getAllByTestId('consent-scope');
    expect(raw.dataset.scope).toBe('api:read');
    expect(raw.textContent?.trim()).toBe('api:read'); // not "api:read api:read"
    expect(email.textContent).toContain('See your email address');
    expect(email.textContent).toContain('email');
  });

  it('marks the scopes the token carries beyond what the program asked for', async () => {
    const b = fake({ pending: [pending({ scopes: ['email', 'openid'], beyond_asked: ['openid'] })] });
    render(ConsentApp, { props: { backend: b } });
    await screen.findByTestId('consent-app-name');
    const scopes = screen.getAllByTestId('consent-scope');
    expect(scopes.map((s) => s.dataset.scope)).toEqual(['email', 'openid']);
    expect(within(scopes[0]).queryByTestId('consent-beyond-asked')).toBeNull();
    expect(within(scopes[1]).getByTestId('consent-beyond-asked').textContent).toMatch(/More than the program asked for/);
  });

  it('marks nothing when the token carries what was asked', async () => {
    render(ConsentApp, { props: { backend: fake({ pending: [pending()] }) } });
    await screen.findByTestId('consent-app-name');
    expect(screen.queryByTestId('consent-beyond-asked')).toBeNull();
  });

  it('a key press locks the answers again, and Enter approves only after a full quiet delay', async () => {
    const b = fake({ pending: [pending()], securityDelayMs: 150 });
    render(ConsentApp, { props: { backend: b } });
    await screen.findByTestId('consent-app-name');
    await waitFor(() => expect(buttons().every((b) => !b.disabled)).toBe(true));
    await fireEvent.keyDown(window, { key: 'a' }); // typing meant for another window
    expect(buttons().every((b) => b.disabled)).toBe(true);
    await fireEvent.keyDown(window, { key: 'Enter' }); // before a full quiet delay: nothing
    expect(b.calls.some((c) => c.method === 'consentAnswer')).toBe(false);
    await waitFor(() => expect(buttons().every((b) => !b.disabled)).toBe(true));
    await fireEvent.keyDown(window, { key: 'Enter' });
    await screen.findByText('Nothing waiting');
    expect(b.calls.filter((c) => c.method === 'consentAnswer').map((c) => c.args)).toEqual([[3, 'approve_once']]);
  });

  it('focus coming into the window locks the answers again', async () => {
    const b = fake({ pending: [pending()], securityDelayMs: 150 });
    render(ConsentApp, { props: { backend: b } });
    await screen.findByTestId('consent-app-name');
    await waitFor(() => expect(buttons().every((b) => !b.disabled)).toBe(true));
    await fireEvent.focus(window);
    expect(buttons().every((b) => b.disabled)).toBe(true);
    await fireEvent.click(screen.getByTestId('approve-always')); // the click that focused it
    expect(b.calls.some((c) => c.method === 'consentAnswer')).toBe(false);
    await waitFor(() => expect(buttons().every((b) => !b.disabled)).toBe(true));
  });

  it('says when the CLI asked, run by the app, and that a Flatpak is sandboxed', async () => {
    const app = { key: 'flatpak:org.example.Mail', name: 'Example Mail', exe: '/app/bin/mail', flatpak_app: 'org.example.Mail', sandboxed: true };
    const b = fake({ pending: [pending({ via_cli: true, app })], icons: { [app.key]: 'data:image/png;base64,iVBORw0KGgo=' } });
    render(ConsentApp, { props: { backend: b } });
    expect((await screen.findByTestId('consent-run-by')).textContent).toMatch(/run by Example Mail/);
    expect(screen.getByTestId('consent-sandboxed').dataset.sandboxed).toBe('true');
    expect(document.querySelector('img.app-icon')?.getAttribute('src')).toMatch(/^data:image\/png/);
  });

  it('says what the program is and when it changed since it was allowed', async () => {
    const content = { exe: { sha256: 'aa'.repeat(32), package: { name: 'python3.11-minimal', version: '3.11.2-6' } }, script: { sha256: 'bb'.repeat(32) } };
    const app = { ...pending().app, content };
    const changed = { grant: 2, allowed_at: 1_700_000_000, parts: ['script' as const], allowed: { ...content, script: { sha256: 'cc'.repeat(32) } } };
    render(ConsentApp, { props: { backend: fake({ pending: [pending({ app, changed })] }) } });
    const notice = await screen.findByTestId('consent-changed');
    expect(notice.textContent).toMatch(/Changed since you allowed it.*the script differs/s);
    expect(notice.dataset.parts).toBe('script');
    expect(screen.getByTestId('consent-content').textContent).toBe('python3.11-minimal 3.11.2-6 + sha256 bbbbbbbbbbbb…');
  });

  it('shows the repository git named, as the word of the program', async () => {
    const app = { key: '/usr/lib/git-core/git', name: 'git', exe: '/usr/lib/git-core/git', sandboxed: false };
    const told_repository = 'https://github.com/me/project.git';
    render(ConsentApp, { props: { backend: fake({ pending: [pending({ app, told_repository })] }) } });
    const row = await screen.findByTestId('consent-repository');
    expect(row.textContent).toMatch(/https:\/\/github\.com\/me\/project\.git.*told by the program/s);
  });

  it('has no repository row when the program named none', async () => {
    render(ConsentApp, { props: { backend: fake({ pending: [pending()] }) } });
    await screen.findByTestId('consent-app-name');
    expect(screen.queryByTestId('consent-repository')).toBeNull();
  });

  it('has no change notice for a first question', async () => {
    render(ConsentApp, { props: { backend: fake({ pending: [pending()] }) } });
    await screen.findByTestId('consent-app-name');
    expect(screen.queryByTestId('consent-changed')).toBeNull();
  });

  it('shows the chain, and offers no "Always allow" to a program that cannot be told apart, saying why', async () => {
    const app = {
      key: '/usr/bin/python3.11 -c', name: 'python3.11', exe: '/usr/bin/python3.11', sandboxed: false,
      chain: ['python3.11 -c', 'dash -c', 'sesame token'],
      generic: '`python3.11 -c` runs code written on its command line, so every program that runs code this way looks the same to Sesame',
    };
    const b = fake({ pending: [pending({ via_cli: true, app })], securityDelayMs: 50 });
    render(ConsentApp, { props: { backend: b } });
    expect((await screen.findByTestId('consent-chain')).textContent).toBe('python3.11 -c → dash -c → sesame token');
    const why = screen.getByTestId('consent-generic');
    expect(why.textContent).toMatch(/Not forever:\s*python3.11 -c runs code written on its command line, so every program .* looks the same to Sesame\./);
    expect(why.querySelector('code')?.textContent).toBe('python3.11 -c');
    expect(screen.queryByTestId('approve-always')).toBeNull();
    await waitFor(() => expect((screen.getByTestId('approve-once') as HTMLButtonElement).disabled).toBe(false));
    await fireEvent.click(screen.getByTestId('approve-once'));
    await screen.findByText('Nothing waiting');
    expect(b.calls.find((c) => c.method === 'consentAnswer')?.args).toEqual([3, 'approve_once']);
  });

  it('Esc denies once the delay is over', async () => {
    const b = fake({ pending: [pending()], securityDelayMs: 50 });
    render(ConsentApp, { props: { backend: b } });
    await screen.findByTestId('consent-app-name');
    await waitFor(() => expect(buttons()[2].disabled).toBe(false));
    await fireEvent.keyDown(window, { key: 'Escape' });
    await screen.findByText('Nothing waiting');
    expect(b.calls.find((c) => c.method === 'consentAnswer')?.args).toEqual([3, 'deny']);
  });

  it('shows the next request after an answer, locked again', async () => {
    const b = fake({ pending: [pending({ id: 3 }), pending({ id: 4, app: { key: '/usr/bin/gh', name: 'gh', exe: '/usr/bin/gh', sandboxed: false } })], securityDelayMs: 100 });
    render(ConsentApp, { props: { backend: b } });
    await screen.findByTestId('consent-app-name');
    await waitFor(() => expect(buttons()[0].disabled).toBe(false));
    await fireEvent.click(screen.getByTestId('approve-always'));
    await waitFor(() => expect(screen.getByTestId('consent-app-name').textContent).toBe('gh'));
    expect(buttons().every((b) => b.disabled)).toBe(true);
    expect(b.state.grants).toHaveLength(1);
  });

  it('remembers for 1 h, 8 h or until the screen locks', async () => {
    for (const [testid, args] of [
      ['approve-1h', [3, 'approve_for', { forSecs: 3600 }]],
      ['approve-8h', [3, 'approve_for', { forSecs: 8 * 3600 }]],
      ['approve-until-lock', [3, 'approve_until_lock']],
    ] as const) {
      const b = fake({ pending: [pending()], securityDelayMs: 0 });
      const { unmount } = render(ConsentApp, { props: { backend: b } });
      const button = (await screen.findByTestId(testid)) as HTMLButtonElement;
      await waitFor(() => expect(button.disabled).toBe(false));
      await fireEvent.click(button);
      await screen.findByText('Nothing waiting');
      expect(b.calls.find((c) => c.method === 'consentAnswer')?.args).toEqual(args);
      expect(b.state.grants).toHaveLength(1);
      unmount();
    }
  });

  it('lets the user choose the account when the program named a provider with several', async () => {
    const accounts = [
      { id: 'local-aaaa', name: 'alice@example.test' },
      { id: 'local-bbbb', name: 'bob@example.test' },
    ];
    const b = fake({ pending: [pending({ account: 'local', accounts })], securityDelayMs: 0 });
    render(ConsentApp, { props: { backend: b } });
    expect((await screen.findByTestId('consent-account')).textContent).toBe('local');
    const choices = screen.getAllByTestId('consent-account-choice');
    expect(choices.map((c) => c.dataset.accountId)).toEqual(['local-aaaa', 'local-bbbb']);
    expect(choices[1].textContent).toContain('bob@example.test');
    const deny = screen.getByTestId('deny') as HTMLButtonElement;
    await waitFor(() => expect(deny.disabled).toBe(false));
    // Nothing is chosen for the user: no approval until they pick one, not even with Enter.
    expect(buttons().slice(0, 2).every((b) => b.disabled)).toBe(true);
    await fireEvent.keyDown(window, { key: 'Enter' });
    expect(b.calls.some((c) => c.method === 'consentAnswer')).toBe(false);
    expect(screen.getByRole('alert').textContent).toMatch(/Choose the account/);
    // That key press started the quiet delay over: the choice too waits for it.
    await waitFor(() => expect(deny.disabled).toBe(false));

    await fireEvent.click(within(choices[1]).getByRole('radio'));
    await waitFor(() => expect(buttons()[0].disabled).toBe(false));
    await fireEvent.click(screen.getByTestId('approve-8h'));
    await screen.findByText('Nothing waiting');
    expect(b.calls.find((c) => c.method === 'consentAnswer')?.args).toEqual([3, 'approve_for', { forSecs: 8 * 3600, account: 'local-bbbb' }]);
    expect(b.state.grants[0].account).toBe('local-bbbb'); // the grant names the one chosen
  });

  it('shows "Nothing waiting" when nothing waits', async () => {
    render(ConsentApp, { props: { backend: fake() } });
    await screen.findByText('Nothing waiting');
  });
});
