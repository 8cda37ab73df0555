// The sign-in flow of the Accounts page, as a small state machine the tests drive with the
// fake backend: choose a provider → start (browser or device) → wait → done / failed /
// cancelled.

import { errorKind, errorMessage, type Backend } from './backend';
import type { AccountView, LoginDeviceStartResult } from './types';

export type SignInPhase =
  | 'idle' // nothing shown
  | 'choosing' // the provider chooser is open
  | 'starting' // login_start / login_device_start is on its way
  | 'browser' // waiting for the browser to come back
  | 'device' // waiting for the code to be approved on another device
  | 'done'
  | 'failed'
  | 'cancelled';

export type SignInMethod = 'browser' | 'device';

export class SignInFlow {
  phase = $state<SignInPhase>('idle');
  provider = $state<string | null>(null);
  method = $state<SignInMethod>('browser');
  /** Unix seconds when the provider or the listener gives up. */
  expiresAt = $state<number | null>(null);
  device = $state<LoginDeviceStartResult | null>(null);
  /** The browser sign-in's page, for when no browser window opened. */
  authorizationUrl = $state<string | null>(null);
  browserError = $state<string | null>(null);
  account = $state<AccountView | null>(null);
  error = $state<string | null>(null);

  private loginId: string | null = null;
  // Each start bumps this; an answer for an older run (cancelled, or replaced) is ignored.
  private run = 0;

  constructor(
    private backend: Backend,
    private onSignedIn?: (account: AccountView) => void,
  ) {}

  get busy(): boolean {
    return this.phase === 'starting' || this.phase === 'browser' || this.phase === 'device';
  }

  /** Opens the provider chooser. */
  choose(): void {
    if (this.busy) return;
    this.phase = 'choosing';
    this.error = null;
  }

  /** Closes whatever is shown, unless a sign-in is under way (cancel that first). */
  close(): void {
    if (this.busy) return;
    this.phase = 'idle';
    this.error = null;
  }

  async start(provider: string, method: SignInMethod = 'browser'): Promise<void> {
    if (this.busy) return;
    const run = ++this.run;
    this.phase = 'starting';
    this.provider = provider;
    this.method = method;
    this.error = null;
    this.account = null;
    this.device = null;
    this.expiresAt = null;
    this.authorizationUrl = null;
    this.browserError = null;
    try {
      const started =
        method === 'device' ? await this.backend.loginDeviceStart(provider) : await this.backend.loginStart(provider);
      if (run !== this.run) {
        // Cancelled while starting: end the sign-in the broker just opened.
        await this.backend.loginCancel(started.login_id).catch(() => {});
        return;
      }
      this.loginId = started.login_id;
      this.expiresAt = started.expires_at;
      if ('user_code' in started) this.device = started;
      else {
        this.authorizationUrl = started.authorization_url;
        this.browserError = started.browser_error ?? null;
      }
      this.phase = method;
      const account = await this.backend.loginWait(started.login_id);
      if (run !== this.run) return;
      this.account = account;
      this.phase = 'done';
      this.onSignedIn?.(account);
    } catch (e) {
      if (run !== this.run) return;
      if (errorKind(e) === 'login_cancelled') {
        this.phase = 'cancelled';
      } else {
        this.phase = 'failed';
        this.error = errorMessage(e);
      }
    } finally {
      if (run === this.run) this.loginId = null;
    }
  }

  /** Ends the sign-in under way; the page shows the chooser again. */
  async cancel(): Promise<void> {
    if (!this.busy) return;
    const loginId = this.loginId;
    this.run++;
    this.loginId = null;
    this.phase = 'cancelled';
    if (loginId) {
      try {
        await this.backend.loginCancel(loginId);
      } catch {
        // It ended meanwhile (finished or timed out): nothing is left to cancel, and the
        // accounts list follows through `sesame:changed`.
      }
    }
  }

  /** Starts the same sign-in again after a failure. */
  retry(): Promise<void> {
    if (!this.provider || this.busy) return Promise.resolve();
    return this.start(this.provider, this.method);
  }
}
