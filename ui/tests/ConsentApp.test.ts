import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import ConsentApp from '../src/consent/ConsentApp.svelte';
import { fake, pending } from './fixtures';

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

  it('shows "Nothing waiting" when nothing waits', async () => {
    render(ConsentApp, { props: { backend: fake() } });
    await screen.findByText('Nothing waiting');
  });
});
