// An in-memory Backend that behaves like the app's commands: for the tests, and (seeded by
// sampleData.ts) for looking at the UI in a browser without Tauri. Sign-ins stay open until
// a test finishes them with completeLogin/failLogin, or a timer does in the preview.

import { BackendError, type ActivityQuery, type AnswerOptions, type Backend } from './backend';
import { accountWho } from './format';
import type {
  AccountInfo,
  AccountView,
  ActivityInfo,
  BrokerEvent,
  ConsentView,
  Decision,
  GrantInfo,
  LoginDeviceStartResult,
  LoginStarted,
  LogoutResult,
  Overview,
  PendingInfo,
  ProvidersView,
  ReloadResult,
  Remedy,
  Revocation,
} from './types';

export interface FakeState {
  overview: Overview;
  /** As the broker keeps them; the commands add `display_name` (see `accountView`). */
  accounts: AccountInfo[];
  providers: ProvidersView;
  grants: GrantInfo[];
  /** Newest first, as the broker lists it. */
  activity: ActivityInfo[];
  pending: PendingInfo[];
  /** Plain words for scopes (the shell has its own table). */
  scopeWords: Record<string, string>;
  /** icon_data_url per app key, for the consent window. */
  icons: Record<string, string>;
  /** Providers that have a device flow; others refuse `loginDeviceStart`. */
  deviceProviders: string[];
  /** What each provider says when asked to revoke (default: confirmed). */
  revocations: Record<string, Revocation>;
  securityDelayMs: number;
  /** What the browser opener said when it failed (none: the browser opened). */
  browserError?: string;
}

export interface FakeOptions {
  /** Unix seconds; tests pin it. */
  now?: () => number;
  /** Finish each sign-in by itself after this long (the preview does; tests do not). */
  autoCompleteLoginMs?: number;
}

/** What `accounts_list` and `login_wait` return for an account: it and its display name. */
export function accountView(a: AccountInfo): AccountView {
  return { ...a, display_name: accountWho(a) };
}

interface OpenLogin {
  provider: string;
  resolve: (a: AccountView) => void;
  reject: (e: BackendError) => void;
  done: Promise<AccountView>;
  timer?: ReturnType<typeof setTimeout>;
}

export function emptyState(): FakeState {
  return {
    overview: {
      state: 'running',
      demo: false,
      config_path: '/home/me/.config/sesame/config.toml',
      socket_path: '/run/user/1000/sesame/sesame.sock',
      pending: 0,
      accounts_needing_reauth: 0,
      autostart: false,
      version: '0.1.0',
    },
    accounts: [],
    providers: { providers: [], config_path: '/home/me/.config/sesame/config.toml' },
    grants: [],
    activity: [],
    pending: [],
    scopeWords: {},
    icons: {},
    deviceProviders: [],
    revocations: {},
    securityDelayMs: 1000,
  };
}

export class FakeBackend implements Backend {
  state: FakeState;
  /** Every call, in order, for assertions. */
  readonly calls: { method: string; args: unknown[] }[] = [];
  private listeners = new Set<(e: BrokerEvent) => void>();
  private logins = new Map<string, OpenLogin>();
  private failures = new Map<string, BackendError>();
  private nextLogin = 1;
  private now: () => number;
  private autoCompleteLoginMs?: number;

  constructor(state: Partial<FakeState> = {}, options: FakeOptions = {}) {
    this.state = { ...emptyState(), ...state };
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.autoCompleteLoginMs = options.autoCompleteLoginMs;
  }

  // ---- test controls ------------------------------------------------------------------

  /** The next calls of `method` reject with this error, until `succeed(method)`. */
  fail(method: keyof Backend, kind: string, message: string, remedy: Remedy | null = null): void {
    this.failures.set(method, new BackendError(kind, message, remedy));
  }

  succeed(method: keyof Backend): void {
    this.failures.delete(method);
  }

  emit(event: BrokerEvent): void {
    for (const cb of this.listeners) cb(event);
  }

  openLogins(): string[] {
    return [...this.logins.keys()];
  }

  /** Ends a sign-in well: a new account, or the provider's account repaired in place. */
  completeLogin(loginId: string, who: Partial<AccountInfo> = {}): AccountInfo {
    const login = this.takeLogin(loginId);
    const existing = this.state.accounts.find((a) => a.provider === login.provider && (!who.subject || a.subject === who.subject));
    let account: AccountInfo;
    if (existing) {
      existing.status = 'active';
      existing.last_refreshed_at = this.now();
      account = existing;
    } else {
      const provider = this.state.providers.providers.find((p) => p.id === login.provider);
      account = {
        id: `${login.provider}-${(0x1a2b3c4d + this.state.accounts.length).toString(16)}`,
        provider: login.provider,
        issuer: provider?.issuer ?? '',
        subject: 'alice',
        email: 'alice@example.test',
        name: 'Alice',
        scopes: provider?.scopes ?? ['openid'],
        status: 'active',
        created_at: this.now(),
        last_refreshed_at: null,
        ...who,
      };
      this.state.accounts.push(account);
    }
    login.resolve(accountView(account));
    this.emit({ event: 'accounts_changed' });
    return account;
  }

  failLogin(loginId: string, kind: string, message: string, remedy: Remedy | null = null): void {
    this.takeLogin(loginId).reject(new BackendError(kind, message, remedy));
  }

  addPending(p: PendingInfo): void {
    this.state.pending.push(p);
    this.emit({ event: 'pending_added', id: p.id, app_name: p.app.name, account: p.account });
  }

  // ---- Backend --------------------------------------------------------------------------

  async overview(): Promise<Overview> {
    this.record('overview');
    return {
      ...this.state.overview,
      pending: this.state.pending.length,
      accounts_needing_reauth: this.state.accounts.filter((a) => a.status === 'reauth_required').length,
    };
  }

  async accounts(): Promise<AccountView[]> {
    this.broker('accounts');
    return this.state.accounts.map(accountView);
  }

  async providers(): Promise<ProvidersView> {
    this.broker('providers');
    return structuredClone(this.state.providers);
  }

  /** Like the broker: a failure (`fail('reloadConfig', 'config_invalid', …)`) is also kept
   *  for the Providers page; a success clears it. */
  async reloadConfig(): Promise<ReloadResult> {
    try {
      this.broker('reloadConfig');
    } catch (e) {
      if (e instanceof BackendError && e.kind === 'config_invalid') {
        this.state.providers.reload_failure = { at: this.now(), message: e.message };
        this.emit({ event: 'config_reloaded', ok: false });
      }
      throw e;
    }
    this.state.providers.reload_failure = null;
    this.emit({ event: 'config_reloaded', ok: true });
    return { config_file: this.state.providers.config_path, added: [], removed: [], changed: [], tokens_dropped: [], restart_needed: [] };
  }

  async loginStart(provider: string): Promise<LoginStarted> {
    this.broker('loginStart', provider);
    this.needProvider(provider);
    const id = this.openLogin(provider);
    return {
      login_id: id,
      authorization_url: `https://idp.example/authorize?login=${id}&state=${'s'.repeat(60)}`,
      expires_at: this.now() + 300,
      browser_error: this.state.browserError ?? null,
    };
  }

  async loginDeviceStart(provider: string): Promise<LoginDeviceStartResult> {
    this.broker('loginDeviceStart', provider);
    this.needProvider(provider);
    if (!this.state.deviceProviders.includes(provider)) {
      throw new BackendError('bad_request', `provider \`${provider}\` has no device sign-in`, { do: 'sign_in_in_browser', provider });
    }
    const id = this.openLogin(provider);
    return {
      login_id: id,
      user_code: 'WDJB-MJHT',
      verification_uri: 'https://idp.example/device',
      verification_uri_complete: 'https://idp.example/device?user_code=WDJB-MJHT',
      interval: 5,
      expires_at: this.now() + 900,
    };
  }

  loginWait(loginId: string): Promise<AccountView> {
    this.broker('loginWait', loginId);
    const login = this.logins.get(loginId);
    if (!login) return Promise.reject(new BackendError('no_such_login', 'that sign-in is over', { do: 'sign_in' }));
    return login.done;
  }

  async loginCancel(loginId: string): Promise<void> {
    this.broker('loginCancel', loginId);
    if (this.logins.has(loginId)) this.failLogin(loginId, 'login_cancelled', 'the sign-in was cancelled');
  }

  async logout(account: string): Promise<LogoutResult> {
    this.broker('logout', account);
    const found = this.state.accounts.find((a) => a.id === account || a.provider === account);
    if (!found) throw new BackendError('no_such_account', `there is no account \`${account}\``, { do: 'list_accounts' });
    this.state.accounts = this.state.accounts.filter((a) => a !== found);
    this.state.grants = this.state.grants.filter((g) => g.account !== found.id);
    this.emit({ event: 'accounts_changed' });
    return { account: found.id, revocation: this.state.revocations[found.provider] ?? { status: 'confirmed' } };
  }

  async grants(): Promise<GrantInfo[]> {
    this.broker('grants');
    return structuredClone(this.state.grants);
  }

  async revokeGrant(id: number): Promise<number[]> {
    this.broker('revokeGrant', id);
    if (!this.state.grants.some((g) => g.id === id)) throw new BackendError('no_such_grant', `there is no grant ${id}`, { do: 'list_grants' });
    return this.revokeWhere((g) => g.id === id);
  }

  async revokeApp(appKey: string): Promise<number[]> {
    this.broker('revokeApp', appKey);
    return this.revokeWhere((g) => g.app.key === appKey);
  }

  async activity(query: ActivityQuery = {}): Promise<ActivityInfo[]> {
    this.broker('activity', query);
    const needle = query.app?.toLowerCase();
    const rows = this.state.activity.filter((r) => !needle || r.app === query.app || r.app.toLowerCase().includes(needle) || r.app_name.toLowerCase().includes(needle));
    return structuredClone(rows.slice(0, query.limit ?? 100));
  }

  async pending(): Promise<PendingInfo[]> {
    this.broker('pending');
    return structuredClone(this.state.pending);
  }

  async openConsent(id?: number): Promise<void> {
    this.broker('openConsent', id);
  }

  async quit(): Promise<void> {
    this.record('quit');
  }

  async setAutostart(enabled: boolean): Promise<boolean> {
    this.record('setAutostart', enabled);
    this.state.overview.autostart = enabled;
    return enabled;
  }

  async consentCurrent(): Promise<ConsentView | null> {
    this.record('consentCurrent');
    const request = this.state.pending[0];
    if (!request) return null;
    return {
      request: structuredClone(request),
      account_name: request.accounts.length ? null : (this.state.accounts.find((a) => a.id === request.account)?.email ?? null),
      icon_data_url: this.state.icons[request.app.key] ?? null,
      scopes: request.scopes.map((scope) => ({ scope, description: this.state.scopeWords[scope] ?? scope })),
      security_delay_ms: this.state.securityDelayMs,
    };
  }

  async consentAnswer(id: number, decision: Decision, options?: AnswerOptions): Promise<void> {
    if (options) this.record('consentAnswer', id, decision, options);
    else this.record('consentAnswer', id, decision);
    const request = this.state.pending.find((p) => p.id === id);
    if (!request) throw new BackendError('no_such_pending', 'that request was answered or timed out', { do: 'list_pending' });
    // As the broker: a program that cannot be told apart from others is never allowed forever.
    if (decision === 'approve_always' && request.app.generic) {
      throw new BackendError('forbidden', `${request.app.name} cannot be allowed forever: ${request.app.generic}. Approve it once, for a time or until the screen locks instead.`);
    }
    // As the broker: a request for several accounts is approved only with one of them chosen.
    const ids = request.accounts.map((a) => a.id);
    const chosen = options?.account ?? (ids.length === 0 ? request.account : undefined);
    if (decision !== 'deny' && (chosen === undefined || (ids.length > 0 && !ids.includes(chosen)))) {
      throw new BackendError('bad_request', `request ${id} lets you choose among several accounts (${ids.join(', ')}); an approval must name the one to hand out`, { do: 'choose_account', pending: id, ids });
    }
    const account = decision === 'deny' ? request.account : (chosen ?? request.account);
    const answered = { ...request, account };
    this.state.pending = this.state.pending.filter((p) => p !== request);
    const remembers = decision !== 'deny' && decision !== 'approve_once';
    this.log(answered, decision === 'deny' ? 'denied' : remembers ? 'remembered' : 'approved');
    if (decision !== 'deny') this.log(answered, 'handed_out', request.waiting);
    if (remembers) {
      const id = Math.max(0, ...this.state.grants.map((g) => g.id)) + 1;
      const expires_at = decision === 'approve_for' ? this.now() + (options?.forSecs ?? 0) : null;
      this.state.grants.push({ id, app: request.app, account, scopes: request.scopes, created_at: this.now(), last_used_at: this.now(), use_count: request.waiting, expires_at, until_lock: decision === 'approve_until_lock' });
      this.emit({ event: 'grants_changed' });
    }
    this.emit({ event: 'pending_resolved', id });
  }

  async onChanged(cb: (e: BrokerEvent) => void): Promise<() => void> {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  // ---- helpers --------------------------------------------------------------------------

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const failure = this.failures.get(method);
    if (failure) throw failure;
  }

  /** Like the app: with no broker of its own, every broker command fails `not_running`. */
  private broker(method: string, ...args: unknown[]): void {
    this.record(method, ...args);
    if (this.state.overview.state !== 'running') {
      throw new BackendError('not_running', this.state.overview.message ?? 'Sesame is not running in this app');
    }
  }

  private needProvider(provider: string): void {
    if (!this.state.providers.providers.some((p) => p.id === provider)) {
      throw new BackendError('no_such_provider', `there is no provider \`${provider}\` in the config`);
    }
  }

  private openLogin(provider: string): string {
    const id = `login-${this.nextLogin++}`;
    let resolve!: OpenLogin['resolve'];
    let reject!: OpenLogin['reject'];
    const done = new Promise<AccountView>((res, rej) => ((resolve = res), (reject = rej)));
    done.catch(() => {}); // a sign-in nobody waits for must not be an unhandled rejection
    const login: OpenLogin = { provider, resolve, reject, done };
    if (this.autoCompleteLoginMs !== undefined) {
      login.timer = setTimeout(() => this.logins.has(id) && this.completeLogin(id), this.autoCompleteLoginMs);
    }
    this.logins.set(id, login);
    return id;
  }

  private takeLogin(loginId: string): OpenLogin {
    const login = this.logins.get(loginId);
    if (!login) throw new Error(`no open sign-in ${loginId}`);
    this.logins.delete(loginId);
    clearTimeout(login.timer);
    return login;
  }

  private revokeWhere(match: (g: GrantInfo) => boolean): number[] {
    const revoked = this.state.grants.filter(match);
    this.state.grants = this.state.grants.filter((g) => !match(g));
    for (const g of revoked) {
      this.state.activity.unshift({ id: this.nextActivityId(), at: this.now(), event: 'revoked', app: g.app.key, app_name: g.app.name, account: g.account, scopes: g.scopes, detail: `grant ${g.id}`, count: 1 });
    }
    if (revoked.length) this.emit({ event: 'grants_changed' });
    return revoked.map((g) => g.id);
  }

  private log(p: PendingInfo, event: ActivityInfo['event'], count = 1): void {
    this.state.activity.unshift({ id: this.nextActivityId(), at: this.now(), event, app: p.app.key, app_name: p.app.name, account: p.account, scopes: p.scopes, detail: p.via_cli ? (p.app.chain?.length ? `via sesame CLI: ${p.app.chain.join(' → ')}` : 'via sesame CLI') : '', count });
  }

  private nextActivityId(): number {
    return Math.max(0, ...this.state.activity.map((a) => a.id)) + 1;
  }
}
