// The one seam between the pages and Sesame: the Tauri commands of docs/app.md, or an
// in-memory fake for tests and for looking at the UI in a plain browser.

import { withRemedy } from './remedy';
import type {
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
} from './types';

/** What goes with a decision: the length of `approve_for`, and the account chosen when the
 *  request offers several (`PendingInfo.accounts`). */
export interface AnswerOptions {
  forSecs?: number;
  account?: string;
}

export interface ActivityQuery {
  limit?: number;
  app?: string;
}

export interface Backend {
  overview(): Promise<Overview>;
  accounts(): Promise<AccountView[]>;
  providers(): Promise<ProvidersView>;
  /** Reads the config file again; rejects with `config_invalid` (the config in force stays). */
  reloadConfig(): Promise<ReloadResult>;
  /** The shell opens the system browser itself. */
  loginStart(provider: string): Promise<LoginStarted>;
  loginDeviceStart(provider: string): Promise<LoginDeviceStartResult>;
  /** Resolves when the sign-in ends; rejects with `login_cancelled` after `loginCancel`. */
  loginWait(loginId: string): Promise<AccountView>;
  loginCancel(loginId: string): Promise<void>;
  logout(account: string): Promise<LogoutResult>;
  grants(): Promise<GrantInfo[]>;
  /** Resolves to the ids of the revoked grants. */
  revokeGrant(id: number): Promise<number[]>;
  revokeApp(appKey: string): Promise<number[]>;
  activity(query?: ActivityQuery): Promise<ActivityInfo[]>;
  pending(): Promise<PendingInfo[]>;
  openConsent(id?: number): Promise<void>;
  /** Resolves to the state now in force. */
  setAutostart(enabled: boolean): Promise<boolean>;
  /** Ends the app (the tray's Quit, for desktops without a tray). */
  quit(): Promise<void>;
  consentCurrent(): Promise<ConsentView | null>;
  consentAnswer(id: number, decision: Decision, options?: AnswerOptions): Promise<void>;
  /** Calls `cb` on every `sesame:changed`; resolves to the function that stops it. */
  onChanged(cb: (event: BrokerEvent) => void): Promise<() => void>;
}

/**
 * A failed command (a `CommandError`): the error kind, the broker's sentence for people and,
 * when there is one thing to do about it, the remedy. `kind` is a `CommandErrorKind` from the
 * app, but may be any string a rejection carried.
 */
export class BackendError extends Error {
  readonly kind: string;
  readonly remedy: Remedy | null;
  constructor(kind: string, message: string, remedy: Remedy | null = null) {
    super(message);
    this.name = 'BackendError';
    this.kind = kind;
    this.remedy = remedy;
  }
}

function isRemedy(raw: unknown): raw is Remedy {
  return typeof raw === 'object' && raw !== null && typeof (raw as { do?: unknown }).do === 'string';
}

/**
 * Commands reject with `{kind, message, remedy?}`; Tauri itself rejects with a bare string
 * (e.g. a command the window's capability does not allow). Both become a BackendError, so a
 * page can always show `.message`.
 */
export function toBackendError(raw: unknown): BackendError {
  if (raw instanceof BackendError) return raw;
  if (typeof raw === 'string') return new BackendError('internal', raw);
  if (raw && typeof raw === 'object') {
    const r = raw as { kind?: unknown; message?: unknown; remedy?: unknown };
    if (typeof r.message === 'string') {
      return new BackendError(typeof r.kind === 'string' ? r.kind : 'internal', r.message, isRemedy(r.remedy) ? r.remedy : null);
    }
  }
  return new BackendError('internal', 'Something went wrong talking to Sesame.');
}

/** The sentence to show for any rejection: the message, and what to do in the app's words. */
export function errorMessage(raw: unknown): string {
  const e = toBackendError(raw);
  return withRemedy(e.message, e.remedy);
}

export function errorKind(raw: unknown): string {
  return toBackendError(raw).kind;
}

/** True inside the Tauri webview (the shell injects this before any script runs). */
export function insideTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/**
 * The Tauri backend in the app; elsewhere (vite dev server, a screenshot) the fake one with
 * sample data. The fake is a separate chunk, so the app never loads it.
 */
export async function chooseBackend(): Promise<{ backend: Backend; preview: boolean }> {
  if (insideTauri()) {
    const { tauriBackend } = await import('./tauriBackend');
    return { backend: tauriBackend, preview: false };
  }
  const { previewBackend } = await import('./sampleData');
  return { backend: previewBackend(new URLSearchParams(location.search)), preview: true };
}
