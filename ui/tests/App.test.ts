// The main window against the fake backend: every element id docs/app.md promises the
// end-to-end test, and the flows behind them.
import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import App from '../src/App.svelte';
import { emptyState } from '../src/lib/fakeBackend';
import type { GrantInfo } from '../src/lib/types';
import { account, fake, NOW } from './fixtures';

const byTestId = (id: string) => screen.getByTestId(id);
const grant = (id: number, key: string, name: string, accountId = 'local-1a2b3c4d'): GrantInfo => ({ id, app: { key, name, exe: key, sandboxed: false }, account: accountId, scopes: ['email'], created_at: NOW, last_used_at: NOW, use_count: 3, until_lock: false });

async function open(b = fake({ accounts: [account()] }), page = 'accounts') {
  location.hash = `#${page}`;
  render(App, { props: { backend: b } });
  await screen.findByTestId(`nav-${page}`);
  return b;
}

describe('main window', () => {
  it('has the four sections and switches between them', async () => {
    const b = await open(fake({ accounts: [account()], grants: [grant(1, '/usr/bin/msmtp', 'msmtp')] }));
    expect(byTestId('nav-accounts').getAttribute('aria-current')).toBe('page');
    await screen.findByTestId('account-row');
    await fireEvent.click(byTestId('nav-grants'));
    await screen.findByTestId('app-group');
    expect(byTestId('nav-grants').getAttribute('aria-current')).toBe('page');
    await fireEvent.click(byTestId('nav-activity'));
    await screen.findByTestId('activity-chart');
    await fireEvent.click(byTestId('nav-providers'));
    await screen.findByTestId('config-path');
    expect(b.calls.map((c) => c.method)).toContain('providers');
  });

  it('quits from the main window (for desktops without a tray)', async () => {
    const b = await open(fake());
    await fireEvent.click(byTestId('app-quit'));
    expect(b.calls.map((c) => c.method)).toContain('quit');
  });

  it('shows the DEMO banner only for the demo provider', async () => {
    await open(fake({ overview: { ...emptyState().overview, demo: true } }));
    expect(byTestId('demo-banner').textContent).toMatch(/demo.*provider runs on this computer.*no account here is a real one/s);
  });

  it('shows the conflict page when another Sesame serves the socket', async () => {
    location.hash = '';
    render(App, { props: { backend: fake({ overview: { ...emptyState().overview, state: 'conflict', message: 'socket busy' } }) } });
    const msg = await screen.findByTestId('conflict-message');
    expect(msg.textContent).toMatch(/sesame daemon.*already serves the socket/s);
    expect(screen.queryByTestId('nav-accounts')).toBeNull();
  });

  it('checks again and opens once the daemon is gone', async () => {
    location.hash = '';
    const b = fake({ overview: { ...emptyState().overview, state: 'conflict' } });
    render(App, { props: { backend: b } });
    await screen.findByTestId('conflict-message');
    b.state.overview.state = 'running'; // the shell started its broker on this re-check
    await fireEvent.click(screen.getByRole('button', { name: 'Check again' }));
    await screen.findByTestId('nav-accounts');
  });

  it('shows the config error and the config path', async () => {
    location.hash = '';
    render(App, { props: { backend: fake({ overview: { ...emptyState().overview, state: 'config_error', message: 'line 3: unknown field `tennant`', config_path: '/c/config.toml' } }) } });
    expect((await screen.findByTestId('config-error')).textContent).toContain('unknown field `tennant`');
    expect(byTestId('config-path').textContent).toBe('/c/config.toml');
  });

  it('offers to review waiting requests', async () => {
    const b = fake();
    b.state.pending = [{ id: 1 } as never];
    await open(b);
    await fireEvent.click(await screen.findByRole('button', { name: 'Review' }));
    expect(b.calls.some((c) => c.method === 'openConsent')).toBe(true);
  });
});

describe('accounts', () => {
  it('lists accounts with their status', async () => {
    await open(fake({ accounts: [account(), account({ id: 'gh-1', provider: 'github', email: null, name: 'octo', status: 'reauth_required' })] }));
    const rows = await screen.findAllByTestId('account-row');
    expect(rows.map((r) => r.dataset.accountId)).toEqual(['local-1a2b3c4d', 'gh-1']);
    expect(within(rows[0]).getByTestId('account-status').dataset.status).toBe('active');
    expect(within(rows[1]).getByTestId('account-status').textContent).toMatch(/Sign-in needed/);
    expect(within(rows[0]).getByText('alice@example.test')).toBeTruthy();
    expect(screen.queryByTestId('reauth-local-1a2b3c4d')).toBeNull();
    expect(byTestId('reauth-gh-1')).toBeTruthy();
  });

  it('adds an account in the browser: progress, then the new row', async () => {
    const b = await open(fake());
    await fireEvent.click(byTestId('add-account'));
    expect(screen.queryByTestId('signin-bot')).toBeNull(); // machine accounts sign in from the CLI
    await fireEvent.click(await screen.findByTestId('signin-local'));
    const progress = await screen.findByTestId('signin-progress');
    await waitFor(() => expect(progress.textContent).toMatch(/Waiting for the browser/));
    expect(progress.textContent).toMatch(/\d:\d\d left/);
    b.completeLogin(b.openLogins()[0], { email: 'new@example.test' });
    await waitFor(() => expect(screen.queryByTestId('signin-progress')).toBeNull());
    await waitFor(() => expect(screen.getAllByTestId('account-row')).toHaveLength(1));
    expect(screen.getByText(/Signed in to/).textContent).toMatch(/Signed in to local as new@example.test/);
  });

  it('without a browser: the opener\'s error at once, the whole address to copy', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await open(fake({ browserError: '`xdg-open` could not open the sign-in page (no method available)' }));
    await fireEvent.click(byTestId('add-account'));
    await fireEvent.click(await screen.findByTestId('signin-local'));
    const progress = await screen.findByTestId('signin-progress');
    expect((await screen.findByTestId('signin-browser-error')).textContent).toContain('no method available');
    expect(progress.textContent).not.toMatch(/window that opened/);
    const url = byTestId('signin-url').textContent ?? '';
    expect(url).toMatch(/^https:\/\/idp.example\/authorize\?login=.*&state=s{60}$/); // all of it, no "…"
    await fireEvent.click(byTestId('signin-copy'));
    expect(writeText).toHaveBeenCalledWith(url);
    await waitFor(() => expect(byTestId('signin-copy').textContent).toContain('Copied'));
  });

  it('drops "Signed in to … as …" once that account is signed out', async () => {
    const b = await open(fake());
    await fireEvent.click(byTestId('add-account'));
    await fireEvent.click(await screen.findByTestId('signin-local'));
    await waitFor(() => expect(b.openLogins()).toHaveLength(1));
    b.completeLogin(b.openLogins()[0], { email: 'new@example.test' });
    await waitFor(() => expect(screen.getByText(/Signed in to/).textContent).toMatch(/as new@example.test/));
    const id = (await screen.findByTestId('account-row')).getAttribute('data-account-id');
    await fireEvent.click(byTestId(`signout-${id}`));
    await fireEvent.click(byTestId(`signout-${id}`)); // confirm
    await screen.findByTestId('signout-result');
    await waitFor(() => expect(screen.queryByText(/Signed in to/)).toBeNull());
  });

  it('signs in on another device with the code, the page and a QR code', async () => {
    await open(fake());
    await fireEvent.click(byTestId('add-account'));
    await fireEvent.click(await screen.findByTestId('signin-device-local'));
    const progress = await screen.findByTestId('signin-progress');
    await waitFor(() => expect(progress.textContent).toContain('WDJB-MJHT'));
    expect(progress.textContent).toContain('https://idp.example/device');
    expect(within(progress).getByRole('img', { name: /QR code/ }).querySelector('path')?.getAttribute('d')).toMatch(/^M4 4h7/);
  });

  it('cancels a sign-in', async () => {
    const b = await open(fake());
    await fireEvent.click(byTestId('add-account'));
    await fireEvent.click(await screen.findByTestId('signin-local'));
    await fireEvent.click(await screen.findByTestId('signin-cancel'));
    await screen.findByText('Sign-in cancelled.');
    expect(b.calls.some((c) => c.method === 'loginCancel')).toBe(true);
    expect(screen.queryByTestId('signin-progress')).toBeNull();
  });

  it('shows why a sign-in failed', async () => {
    const b = await open(fake());
    await fireEvent.click(byTestId('add-account'));
    await fireEvent.click(await screen.findByTestId('signin-local'));
    await screen.findByTestId('signin-progress');
    await waitFor(() => expect(b.openLogins()).toHaveLength(1));
    b.failLogin(b.openLogins()[0], 'login_timeout', 'nobody came back from the browser in time; start a new sign-in');
    expect((await screen.findByRole('alert')).textContent).toContain('nobody came back from the browser in time');
  });

  it('signs in again for an account that needs it', async () => {
    const b = await open(fake({ accounts: [account({ status: 'reauth_required' })] }));
    await fireEvent.click(await screen.findByTestId('reauth-local-1a2b3c4d'));
    await screen.findByTestId('signin-progress');
    expect(b.calls.find((c) => c.method === 'loginStart')?.args).toEqual(['local']);
    await waitFor(() => expect(b.openLogins()).toHaveLength(1));
    b.completeLogin(b.openLogins()[0]);
    await waitFor(() => expect(byTestId('account-status').dataset.status).toBe('active'));
  });

  it('signs out after a confirmation and says what the provider did', async () => {
    const b = await open(fake({ accounts: [account()], revocations: { local: { status: 'not_supported', hint: 'revoke it at https://idp.example/settings' } } }));
    const button = await screen.findByTestId('signout-local-1a2b3c4d');
    await fireEvent.click(button);
    expect(button.dataset.confirming).toBe('true');
    expect(b.calls.some((c) => c.method === 'logout')).toBe(false);
    await fireEvent.click(button);
    const result = await screen.findByTestId('signout-result');
    expect(result.dataset.revocation).toBe('not_supported');
    expect(result.textContent).toContain('https://idp.example/settings');
    await waitFor(() => expect(screen.queryByTestId('account-row')).toBeNull());
  });

  it('backs out of a sign-out with Cancel', async () => {
    const b = await open(fake({ accounts: [account()] }));
    const button = await screen.findByTestId('signout-local-1a2b3c4d');
    await fireEvent.click(button);
    await fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(button.dataset.confirming).toBe('false');
    expect(b.calls.some((c) => c.method === 'logout')).toBe(false);
  });

  it('keeps a sign-in going while another page is shown', async () => {
    const b = await open(fake());
    await fireEvent.click(byTestId('add-account'));
    await fireEvent.click(await screen.findByTestId('signin-local'));
    await screen.findByTestId('signin-progress');
    await fireEvent.click(byTestId('nav-providers'));
    await screen.findByTestId('config-path');
    await fireEvent.click(byTestId('nav-accounts'));
    expect(await screen.findByTestId('signin-progress')).toBeTruthy();
    b.completeLogin(b.openLogins()[0]);
    await screen.findByTestId('account-row');
  });

  it('re-reads the list on sesame:changed', async () => {
    const b = await open(fake({ accounts: [account()] }));
    await screen.findByTestId('account-row');
    b.state.accounts.push(account({ id: 'local-2', email: 'bob@example.test' }));
    b.emit({ event: 'accounts_changed' });
    await waitFor(() => expect(screen.getAllByTestId('account-row')).toHaveLength(2));
  });
});

describe('apps & grants', () => {
  it('groups grants by app and revokes one, or all of an app', async () => {
    const msmtp = { ...grant(1, '/usr/bin/msmtp', 'msmtp'), app: { key: '/usr/bin/msmtp', name: 'msmtp', exe: '/usr/bin/msmtp', sandboxed: false, chain: ['msmtp', 'dash -c', 'sesame token'] } };
    const b = await open(fake({ accounts: [account()], grants: [msmtp, grant(2, '/usr/bin/gh', 'gh'), grant(3, '/usr/bin/gh', 'gh', 'other')] }), 'grants');
    const groups = await screen.findAllByTestId('app-group');
    expect(groups.map((g) => g.dataset.appKey).sort()).toEqual(['/usr/bin/gh', '/usr/bin/msmtp']);
    const gh = groups.find((g) => g.dataset.appKey === '/usr/bin/gh')!;
    // How the grant was asked for: through the CLI, run by msmtp through `sh -c`.
    const viaMsmtp = within(groups.find((g) => g.dataset.appKey === '/usr/bin/msmtp')!).getByTestId('grant-chain');
    expect(viaMsmtp.textContent).toBe('msmtp → dash -c → sesame token');
    expect(within(gh).queryByTestId('grant-chain')).toBeNull();
    expect(within(gh).getAllByTestId('grant-row').map((r) => r.dataset.grantId)).toEqual(['2', '3']); // by account

    const revoke = byTestId('revoke-grant-1');
    await fireEvent.click(revoke);
    await fireEvent.click(revoke);
    await waitFor(() => expect(screen.getAllByTestId('app-group')).toHaveLength(1));
    expect(b.calls.find((c) => c.method === 'revokeGrant')?.args).toEqual([1]);

    const all = within(screen.getByTestId('app-group')).getByTestId('revoke-app');
    await fireEvent.click(all);
    expect(all.textContent).toMatch(/Revoke 2 grants/);
    await fireEvent.click(all);
    await waitFor(() => expect(screen.queryByTestId('app-group')).toBeNull());
    expect(b.calls.find((c) => c.method === 'revokeApp')?.args).toEqual(['/usr/bin/gh']);
  });
});

describe('apps & grants: lengths', () => {
  it('shows when a grant for a time or until the screen locks ends, and nothing for always', async () => {
    const now = Math.floor(Date.now() / 1000);
    const timed = { ...grant(1, '/usr/bin/msmtp', 'msmtp'), expires_at: now + 3 * 3600 };
    const locked = { ...grant(2, '/usr/bin/gh', 'gh'), until_lock: true };
    const always = grant(3, '/usr/bin/rclone', 'rclone');
    await open(fake({ accounts: [account()], grants: [timed, locked, always] }), 'grants');
    await screen.findAllByTestId('app-group');
    const row = (id: number) => document.querySelector(`[data-grant-id="${id}"]`) as HTMLElement;
    expect(within(row(1)).getByTestId('grant-end').textContent).toMatch(/^Ends at .+ \(in 3 h\)$/);
    expect(within(row(2)).getByTestId('grant-end').textContent).toBe('Ends when the screen locks');
    expect(within(row(3)).queryByTestId('grant-end')).toBeNull();
  });
});

describe('activity', () => {
  it('lists events, filters them, and charts hand-outs', async () => {
    const now = Math.floor(Date.now() / 1000);
    const row = (id: number, event: string, app_name: string, count = 1) => ({ id, at: now - id * 60, event, app: `/usr/bin/${app_name}`, app_name, account: 'local-1', scopes: ['email'], detail: '', count });
    await open(fake({ activity: [row(1, 'handed_out', 'msmtp', 12), row(2, 'denied', 'curl'), row(3, 'handed_out', 'gh')] as never }), 'activity');
    const rows = await screen.findAllByTestId('activity-row');
    expect(rows.map((r) => r.dataset.event)).toEqual(['handed_out', 'denied', 'handed_out']);
    expect(rows[0].textContent).toContain('×12');
    expect(rows[2].textContent).not.toContain('×');
    expect(byTestId('activity-chart').querySelectorAll('rect.bar')).toHaveLength(2);

    await fireEvent.input(byTestId('activity-filter'), { target: { value: 'MSM' } });
    await waitFor(() => expect(screen.getAllByTestId('activity-row')).toHaveLength(1));
    expect(byTestId('activity-chart').querySelectorAll('rect.bar')).toHaveLength(1);

    await fireEvent.input(byTestId('activity-filter'), { target: { value: '' } });
    await fireEvent.change(byTestId('activity-event'), { target: { value: 'denied' } });
    await waitFor(() => expect(screen.getAllByTestId('activity-row').map((r) => r.dataset.event)).toEqual(['denied']));
  });
});

describe('providers', () => {
  it('lists providers, the config path and error, and switches autostart', async () => {
    const b = fake();
    b.state.providers.config_error = 'line 9: duplicate id `local`';
    await open(b, 'providers');
    const rows = await screen.findAllByTestId('provider-row');
    expect(rows.map((r) => r.dataset.providerId)).toEqual(['local', 'bot']);
    expect(byTestId('config-path').textContent).toBe('/home/me/.config/sesame/config.toml');
    expect(byTestId('config-error').textContent).toContain('duplicate id');
    const toggle = byTestId('autostart-toggle');
    expect(toggle.getAttribute('aria-checked')).toBe('false');
    await fireEvent.click(toggle);
    await waitFor(() => expect(toggle.getAttribute('aria-checked')).toBe('true'));
    expect(b.calls.find((c) => c.method === 'setAutostart')?.args).toEqual([true]);
  });

  it('reloads the config, and shows a refused edit while the old config stays', async () => {
    const b = fake();
    await open(b, 'providers');
    await fireEvent.click(await screen.findByTestId('config-reload'));
    expect((await screen.findByTestId('reload-result')).textContent).toContain('no provider changed');
    expect(screen.queryByTestId('reload-failure')).toBeNull();

    b.fail('reloadConfig', 'config_invalid', '/c/config.toml: TOML parse error at line 7, column 17: invalid basic string');
    await fireEvent.click(byTestId('config-reload'));
    const failure = await screen.findByTestId('reload-failure');
    expect(failure.textContent).toMatch(/still in force.*line 7, column 17/s);
    expect(screen.getAllByTestId('provider-row')).toHaveLength(2);

    b.succeed('reloadConfig');
    await fireEvent.click(byTestId('config-reload'));
    await waitFor(() => expect(screen.queryByTestId('reload-failure')).toBeNull());
  });

  it('marks an account whose provider left the config', async () => {
    await open(fake({ accounts: [{ ...account(), status: 'provider_removed' }] }));
    const badge = await screen.findByTestId('account-status');
    expect(badge.dataset.status).toBe('provider_removed');
    expect(badge.textContent).toContain('Provider removed');
  });

  it('shows why autostart could not be changed', async () => {
    const b = fake();
    b.fail('setAutostart', 'internal', 'cannot write ~/.config/autostart/sesame.desktop');
    await open(b, 'providers');
    await fireEvent.click(await screen.findByTestId('autostart-toggle'));
    expect((await screen.findByRole('alert')).textContent).toContain('cannot write');
    expect(byTestId('autostart-toggle').getAttribute('aria-checked')).toBe('false');
  });
});
