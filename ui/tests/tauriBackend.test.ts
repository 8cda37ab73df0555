import { afterEach, describe, expect, it } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import { BackendError, insideTauri, toBackendError } from '../src/lib/backend';
import { CHANGED_EVENT, tauriBackend } from '../src/lib/tauriBackend';
import type { BrokerEvent } from '../src/lib/types';

afterEach(() => clearMocks());

/** Records every command with its arguments and answers `null`. */
function record(): { cmd: string; args: unknown }[] {
  const calls: { cmd: string; args: unknown }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    return null;
  });
  return calls;
}

describe('tauriBackend', () => {
  it('calls the commands of docs/app.md with camelCase arguments', async () => {
    const calls = record();
    const b = tauriBackend;
    await b.overview();
    await b.accounts();
    await b.providers();
    await b.reloadConfig();
    await b.loginStart('local');
    await b.loginDeviceStart('local');
    await b.loginWait('L1');
    await b.loginCancel('L1');
    await b.logout('local-1a2b3c4d');
    await b.grants();
    await b.revokeGrant(7);
    await b.revokeApp('/usr/bin/msmtp');
    await b.activity({ limit: 50, app: 'msmtp' });
    await b.activity();
    await b.pending();
    await b.openConsent(3);
    await b.openConsent();
    await b.setAutostart(true);
    await b.consentCurrent();
    await b.consentAnswer(3, 'approve_always');
    expect(calls.map((c) => [c.cmd, c.args])).toEqual([
      ['app_overview', {}],
      ['accounts_list', {}],
      ['providers_list', {}],
      ['config_reload', {}],
      ['login_start', { provider: 'local' }],
      ['login_device_start', { provider: 'local' }],
      ['login_wait', { loginId: 'L1' }],
      ['login_cancel', { loginId: 'L1' }],
      ['account_logout', { account: 'local-1a2b3c4d' }],
      ['grants_list', {}],
      ['grants_revoke', { grant: 7 }],
      ['grants_revoke', { app: '/usr/bin/msmtp' }],
      ['activity_list', { limit: 50, app: 'msmtp' }],
      ['activity_list', {}],
      ['pending_list', {}],
      ['open_consent', { id: 3 }],
      ['open_consent', {}],
      ['autostart_set', { enabled: true }],
      ['consent_current', {}],
      ['consent_answer', { id: 3, decision: 'approve_always' }],
    ]);
  });

  it('passes results through', async () => {
    mockIPC((cmd) => (cmd === 'grants_revoke' ? [4, 5] : cmd === 'autostart_set' ? false : null));
    expect(await tauriBackend.revokeApp('/usr/bin/gh')).toEqual([4, 5]);
    expect(await tauriBackend.setAutostart(true)).toBe(false);
  });

  it('surfaces {kind, message} errors as BackendError', async () => {
    mockIPC(() => {
      throw { kind: 'no_such_provider', message: 'there is no provider `nope` in the config' };
    });
    const err = await tauriBackend.loginStart('nope').catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.kind).toBe('no_such_provider');
    expect(err.message).toBe('there is no provider `nope` in the config');
  });

  it('turns a bare string rejection (e.g. a capability refusal) into a message', async () => {
    mockIPC(() => {
      throw 'consent_current not allowed';
    });
    const err = await tauriBackend.consentCurrent().catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toBe('consent_current not allowed');
  });

  it('delivers sesame:changed payloads until unsubscribed', async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const seen: BrokerEvent[] = [];
    const stop = await tauriBackend.onChanged((e) => seen.push(e));
    await emit(CHANGED_EVENT, { event: 'pending_added', id: 4, app_name: 'mail-sync.py', account: 'local-1' });
    await emit('something-else', { event: 'grants_changed' });
    stop();
    await emit(CHANGED_EVENT, { event: 'accounts_changed' });
    expect(seen).toEqual([{ event: 'pending_added', id: 4, app_name: 'mail-sync.py', account: 'local-1' }]);
  });

  it('knows when it runs inside Tauri', () => {
    clearMocks();
    delete (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__;
    expect(insideTauri()).toBe(false);
    mockIPC(() => null);
    expect(insideTauri()).toBe(true);
  });
});

describe('toBackendError', () => {
  it('keeps kind and message, and never loses the message', () => {
    expect(toBackendError({ kind: 'internal', message: 'disk full' }).message).toBe('disk full');
    expect(toBackendError({ message: 'no kind' }).kind).toBe('internal');
    expect(toBackendError('plain').message).toBe('plain');
    expect(toBackendError(42).message).toMatch(/went wrong/);
    const e = new BackendError('x', 'y');
    expect(toBackendError(e)).toBe(e);
  });
});
