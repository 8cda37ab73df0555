// Words and numbers for people. Times in the protocol are Unix seconds.

import type { AccountInfo, ActivityEvent, AppInfo, Revocation } from './types';

/** "2:05" for a countdown; "1:02:05" past an hour; "0:00" once it is over. */
export function formatCountdown(secondsLeft: number): string {
  const s = Math.max(0, Math.ceil(secondsLeft));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Seconds from `nowMs` until `expiresAt` (Unix seconds), never negative. */
export function secondsUntil(expiresAt: number, nowMs: number): number {
  return Math.max(0, expiresAt - nowMs / 1000);
}

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", then a date. */
export function formatRelative(at: number | null | undefined, nowMs: number): string {
  if (at == null) return 'never';
  const ago = Math.floor(nowMs / 1000 - at);
  if (ago < 45) return 'just now';
  if (ago < 3600) return `${Math.max(1, Math.round(ago / 60))} min ago`;
  if (ago < 86400) return `${Math.round(ago / 3600)} h ago`;
  const days = Math.round(ago / 86400);
  if (days === 1) return 'yesterday';
  if (days < 14) return `${days} days ago`;
  return formatDate(at);
}

/** A calm absolute date, "12 Mar 2026", for titles and old rows. */
export function formatDate(at: number): string {
  return new Date(at * 1000).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

export function formatDateTime(at: number): string {
  return new Date(at * 1000).toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export function formatTime(at: number): string {
  return new Date(at * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/**
 * Who an account is, best name first: email, then name, then the provider's subject. This is
 * `AccountInfo::display_name` in Rust, which the app sends as `AccountView.display_name` (the
 * pages show that); only the fake backend applies the rule here, to send the same field.
 */
export function accountWho(a: Pick<AccountInfo, 'email' | 'name' | 'subject'>): string {
  return a.email ?? a.name ?? a.subject;
}

/** The second line under the display name, when it adds something. */
export function accountDetail(a: Pick<AccountInfo, 'email' | 'name' | 'subject'>): string {
  if (a.email && a.name) return a.name;
  return '';
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const EVENT_WORDS: Record<ActivityEvent, string> = {
  handed_out: 'Token handed out',
  approved: 'Approved once',
  remembered: 'Allowed and remembered',
  denied: 'Denied',
  timed_out: 'Not answered in time',
  withdrawn: 'Withdrawn: the program went away',
  revoked: 'Grant revoked',
  updated: 'Grant kept after an update',
  lapsed: 'Grant lapsed',
  refused: 'Refused',
  signed_in: 'Signed in',
  signed_out: 'Signed out',
  reauth_needed: 'Sign-in needed again',
};

/** Events about an account itself (the user's sign-ins), not about a program. */
export function isAccountEvent(event: string): boolean {
  return event === 'signed_in' || event === 'signed_out' || event === 'reauth_needed';
}

export const ACTIVITY_EVENTS = Object.keys(EVENT_WORDS) as ActivityEvent[];

export function eventWords(event: string): string {
  return EVENT_WORDS[event as ActivityEvent] ?? event;
}

/** What the provider said about the sign-out, as one sentence. */
export function revocationWords(r: Revocation): string {
  switch (r.status) {
    case 'confirmed':
      return 'The provider confirmed the sign-in is revoked.';
    case 'not_supported':
      return r.hint
        ? `The provider cannot revoke it from here: ${r.hint}`
        : 'The provider cannot revoke sign-ins from here; remove Sesame in your account settings there.';
    case 'failed':
      return `The provider did not confirm the revocation: ${r.reason}`;
    case 'not_needed':
      return `Nothing to revoke at the provider: ${r.reason}`;
  }
}

/** The program's path as people know it: the script for interpreters, else the executable. */
export function appPath(app: Pick<AppInfo, 'exe' | 'script' | 'flatpak_app'>): string {
  if (app.flatpak_app) return `Flatpak ${app.flatpak_app}`;
  return app.script ? `${app.script} (${app.exe})` : app.exe;
}

/** One or two letters for an app without an icon. */
export function monogram(name: string): string {
  const letters = name.replace(/\.[a-z0-9]+$/i, '').match(/[A-Za-z0-9]+/g) ?? ['?'];
  const first = letters[0][0] ?? '?';
  const second = letters.length > 1 ? letters[1][0] : letters[0][1] ?? '';
  return (first + second).toUpperCase().slice(0, 2);
}

/** A stable palette slot for a key, so an app keeps its colour everywhere. */
export function colorSlot(key: string, slots = 8): number {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % slots;
}

/** Only a data: image may be shown: the CSP allows no other source but the app itself. */
export function usableIcon(icon: string | null | undefined): string | null {
  return icon && /^data:image\/(png|svg\+xml|jpeg|gif|webp);/.test(icon) ? icon : null;
}
