import { describe, expect, it, vi } from 'vitest';
import { SignInFlow } from '../src/lib/signin.svelte';
import { fake, settle } from './fixtures';

describe('SignInFlow', () => {
  it('browser sign-in: starting → waiting for the browser → done', async () => {
    const b = fake();
    const signedIn = vi.fn();
    const flow = new SignInFlow(b, signedIn);
    flow.choose();
    expect(flow.phase).toBe('choosing');
    const run = flow.start('local');
    expect(flow.phase).toBe('starting');
    await settle();
    expect(flow.phase).toBe('browser');
    expect(flow.busy).toBe(true);
    expect(flow.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(flow.authorizationUrl).toMatch(/^https:\/\/idp.example\/authorize/); // shown in case no browser opened
    const [loginId] = b.openLogins();
    expect(b.calls.map((c) => c.method)).toEqual(['loginStart', 'loginWait']);
    b.completeLogin(loginId, { email: 'bob@example.test', subject: 'bob' });
    await run;
    expect(flow.phase).toBe('done');
    expect(flow.account?.email).toBe('bob@example.test');
    expect(signedIn).toHaveBeenCalledOnce();
  });

  it('device sign-in keeps the code and the page to show', async () => {
    const b = fake();
    const flow = new SignInFlow(b);
    const run = flow.start('local', 'device');
    await settle();
    expect(flow.phase).toBe('device');
    expect(flow.device?.user_code).toBe('WDJB-MJHT');
    expect(flow.device?.verification_uri_complete).toContain('user_code=');
    b.completeLogin(b.openLogins()[0]);
    await run;
    expect(flow.phase).toBe('done');
  });

  it('cancel while waiting calls login_cancel and ends quietly', async () => {
    const b = fake();
    const signedIn = vi.fn();
    const flow = new SignInFlow(b, signedIn);
    const run = flow.start('local');
    await settle();
    const [loginId] = b.openLogins();
    await flow.cancel();
    await run;
    expect(flow.phase).toBe('cancelled');
    expect(flow.error).toBeNull();
    expect(b.calls.find((c) => c.method === 'loginCancel')?.args).toEqual([loginId]);
    expect(b.openLogins()).toEqual([]);
    expect(signedIn).not.toHaveBeenCalled();
  });

  it('cancel while starting cancels the sign-in the broker just opened', async () => {
    const b = fake();
    const flow = new SignInFlow(b);
    const run = flow.start('local');
    await flow.cancel(); // login_start has not answered yet
    expect(flow.phase).toBe('cancelled');
    await run;
    await settle();
    expect(flow.phase).toBe('cancelled');
    expect(b.calls.map((c) => c.method)).toEqual(['loginStart', 'loginCancel']);
    expect(b.openLogins()).toEqual([]);
  });

  it('shows the broker message when the sign-in fails, and can try again', async () => {
    const b = fake();
    const flow = new SignInFlow(b);
    const run = flow.start('local');
    await settle();
    b.failLogin(b.openLogins()[0], 'access_denied', 'the provider refused the sign-in (access_denied)');
    await run;
    expect(flow.phase).toBe('failed');
    expect(flow.error).toBe('the provider refused the sign-in (access_denied)');
    const again = flow.retry();
    await settle();
    expect(flow.phase).toBe('browser');
    expect(flow.error).toBeNull();
    b.completeLogin(b.openLogins()[0]);
    await again;
    expect(flow.phase).toBe('done');
  });

  it('a start that fails shows why (e.g. no device flow)', async () => {
    const b = fake({ deviceProviders: [] });
    const flow = new SignInFlow(b);
    await flow.start('local', 'device');
    expect(flow.phase).toBe('failed');
    expect(flow.error).toMatch(/no device sign-in/);
  });

  it('one sign-in at a time', async () => {
    const b = fake();
    const flow = new SignInFlow(b);
    void flow.start('local');
    await settle();
    void flow.start('local', 'device');
    flow.choose();
    flow.close();
    expect(flow.phase).toBe('browser');
    expect(b.calls.filter((c) => c.method === 'loginStart' || c.method === 'loginDeviceStart')).toHaveLength(1);
  });
});
