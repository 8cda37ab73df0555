// The Backend over Tauri commands. Names and arguments are exactly docs/app.md's; Tauri
// maps the camelCase argument keys to the Rust commands' snake_case parameters.

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { toBackendError, type Backend } from './backend';
import type { BrokerEvent } from './types';

/** The one event the shell sends; its payload is the broker's event. */
export const CHANGED_EVENT = 'sesame:changed';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toBackendError(e);
  }
}

/** Leaves out keys whose value is undefined, so optional arguments are absent, not null. */
function defined(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
}

export const tauriBackend: Backend = {
  overview: () => call('app_overview'),
  accounts: () => call('accounts_list'),
  providers: () => call('providers_list'),
  reloadConfig: () => call('config_reload'),
  loginStart: (provider) => call('login_start', { provider }),
  loginDeviceStart: (provider) => call('login_device_start', { provider }),
  loginWait: (loginId) => call('login_wait', { loginId }),
  loginCancel: async (loginId) => {
    await call('login_cancel', { loginId });
  },
  logout: (account) => call('account_logout', { account }),
  grants: () => call('grants_list'),
  revokeGrant: (grant) => call('grants_revoke', { grant }),
  revokeApp: (app) => call('grants_revoke', { app }),
  activity: (query = {}) => call('activity_list', defined({ limit: query.limit, app: query.app })),
  pending: () => call('pending_list'),
  openConsent: async (id) => {
    await call('open_consent', defined({ id }));
  },
  setAutostart: (enabled) => call('autostart_set', { enabled }),
  quit: () => call('app_quit'),
  consentCurrent: () => call('consent_current'),
  consentAnswer: async (id, decision, options = {}) => {
    await call('consent_answer', defined({ id, decision, forSecs: options.forSecs, account: options.account }));
  },
  onChanged: async (cb) => {
    try {
      return await listen<BrokerEvent>(CHANGED_EVENT, (e) => cb(e.payload));
    } catch (e) {
      throw toBackendError(e);
    }
  },
};
