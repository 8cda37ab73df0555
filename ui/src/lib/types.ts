// The JSON shapes the app's commands return (docs/app.md), mirroring sesame-ipc's wire
// types (docs/protocol.md). Times are Unix seconds. None of them ever carries a token.

export type AccountStatus = 'active' | 'reauth_required';

export interface AccountInfo {
  id: string;
  provider: string;
  issuer: string;
  subject: string;
  email?: string | null;
  name?: string | null;
  scopes: string[];
  status: AccountStatus;
  created_at: number;
  last_refreshed_at?: number | null;
}

export type ProviderGrant = 'authorization_code' | 'client_credentials';

export interface ProviderInfo {
  id: string;
  issuer: string;
  scopes: string[];
  /** Absent from older brokers: means `authorization_code`. */
  grant?: ProviderGrant | string;
}

export interface ProvidersList {
  providers: ProviderInfo[];
  config_path: string;
  config_error?: string | null;
}

export type AppState = 'running' | 'conflict' | 'config_error';

export interface Overview {
  state: AppState;
  message?: string | null;
  demo: boolean;
  config_path: string;
  socket_path: string;
  pending: number;
  accounts_needing_reauth: number;
  autostart: boolean;
  version: string;
}

export interface LoginStart {
  login_id: string;
  /** Shown as a link too, in case the browser did not open. */
  authorization_url: string;
  expires_at: number;
  /** Why the shell could not open the browser, when it could not. */
  browser_error?: string | null;
}

export interface DeviceLoginStart {
  login_id: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string | null;
  interval: number;
  expires_at: number;
}

export type Revocation =
  | { status: 'confirmed' }
  | { status: 'not_supported'; hint?: string | null }
  | { status: 'failed'; reason: string }
  | { status: 'not_needed'; reason: string };

export interface LogoutResult {
  account: string;
  revocation: Revocation;
}

/** A program as the kernel identified it. */
export interface AppInfo {
  key: string;
  name: string;
  exe: string;
  script?: string | null;
  icon?: string | null;
  flatpak_app?: string | null;
  sandboxed: boolean;
}

export interface PendingInfo {
  id: number;
  app: AppInfo;
  via_cli: boolean;
  pid: number;
  account: string;
  scopes: string[];
  waiting: number;
  created_at: number;
  expires_at: number;
}

export interface GrantInfo {
  id: number;
  app: AppInfo;
  account: string;
  scopes: string[];
  created_at: number;
  last_used_at?: number | null;
  use_count: number;
}

export type ActivityEvent =
  | 'handed_out'
  | 'approved'
  | 'remembered'
  | 'denied'
  | 'timed_out'
  | 'revoked'
  | 'refused';

export interface ActivityInfo {
  id: number;
  at: number;
  event: ActivityEvent;
  /** The app key; empty when the caller could not be identified. */
  app: string;
  app_name: string;
  account?: string | null;
  scopes: string[];
  detail: string;
  /** Identical hand-outs in one burst share a row; absent means 1. */
  count?: number;
}

export interface ScopeDescription {
  scope: string;
  description: string;
}

/** What the consent window shows: the oldest waiting request. */
export interface ConsentRequest {
  request: PendingInfo;
  icon_data_url?: string | null;
  scopes: ScopeDescription[];
  security_delay_ms: number;
}

export type Decision = 'approve_once' | 'approve_always' | 'deny';

export type BrokerEvent =
  | { event: 'pending_added'; id: number; app_name: string; account: string }
  | { event: 'pending_resolved'; id: number }
  | { event: 'reauth_required'; account: string; provider: string; why: string }
  | { event: 'accounts_changed' }
  | { event: 'grants_changed' }
  | { event: 'lagged'; missed: number };

/** What every failed command rejects with. */
export interface CommandError {
  kind: string;
  message: string;
}
