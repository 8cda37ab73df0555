// Small, fixed data for the tests (the preview's richer data is in src/lib/sampleData.ts).
import { FakeBackend, type FakeState } from '../src/lib/fakeBackend';
import type { AccountInfo, PendingInfo } from '../src/lib/types';

export const NOW = 1_800_000_000;

export function account(over: Partial<AccountInfo> = {}): AccountInfo {
  return { id: 'local-1a2b3c4d', provider: 'local', issuer: 'http://127.0.0.1:9400', subject: 'alice', email: 'alice@example.test', name: 'Alice', scopes: ['openid', 'email'], status: 'active', created_at: NOW - 86400, last_refreshed_at: NOW - 300, ...over };
}

export function pending(over: Partial<PendingInfo> = {}): PendingInfo {
  return {
    id: 3,
    app: { key: '/usr/bin/python3.11 /home/me/bin/mail-sync.py', name: 'mail-sync.py', exe: '/usr/bin/python3.11', script: '/home/me/bin/mail-sync.py', sandboxed: false },
    via_cli: false,
    pid: 4242,
    account: 'local-1a2b3c4d',
    scopes: ['email', 'openid'],
    waiting: 1,
    created_at: NOW,
    expires_at: Math.floor(Date.now() / 1000) + 120,
    accounts: [],
    beyond_asked: [],
    ...over,
  };
}

export function fake(state: Partial<FakeState> = {}): FakeBackend {
  return new FakeBackend({
    providers: {
      config_path: '/home/me/.config/sesame/config.toml',
      providers: [
        { id: 'local', issuer: 'http://127.0.0.1:9400', scopes: ['openid', 'email'], grant: 'authorization_code' },
        { id: 'bot', issuer: 'http://127.0.0.1:9400', scopes: ['api'], grant: 'client_credentials' },
      ],
    },
    deviceProviders: ['local'],
    scopeWords: { email: 'See your email address', openid: 'Confirm who you are' },
    ...state,
  });
}

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((r) => setTimeout(r, 0));
