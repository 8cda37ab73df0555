// How long an approval lasts: the consent window's buttons, and when a grant ends on the
// Apps & grants page. The broker tells the lengths apart (sesame-ipc's `Approval`); only
// "always" lasts until revoked.

import { formatDateTime, formatTime } from './format';
import type { Decision, GrantInfo } from './types';

export interface Length {
  testid: string;
  label: string;
  /** What the button does, in a sentence (its tooltip and accessible description). */
  title: string;
  decision: Decision;
  /** With `approve_for`: how long, in seconds. */
  forSecs?: number;
}

export const HOUR = 3600;

/** Approve once: the primary answer (Enter). */
export const ONCE: Length = {
  testid: 'approve-once',
  label: 'Approve once',
  title: 'Hand out a token now, and ask again next time',
  decision: 'approve_once',
};

/** The lengths the consent window offers besides once, shortest first. */
export const REMEMBER: Length[] = [
  { testid: 'approve-1h', label: '1 h', title: 'Allow for one hour, then ask again', decision: 'approve_for', forSecs: HOUR },
  { testid: 'approve-8h', label: '8 h', title: 'Allow for eight hours, then ask again', decision: 'approve_for', forSecs: 8 * HOUR },
  { testid: 'approve-until-lock', label: 'Until lock', title: 'Allow until the screen locks, the computer sleeps or Sesame stops', decision: 'approve_until_lock' },
  { testid: 'approve-always', label: 'Always', title: 'Allow until you revoke it on the Apps & grants page', decision: 'approve_always' },
];

/** "in 45 s", "in 20 min", "in 3 h", "in 2 days". */
export function formatIn(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `in ${s} s`;
  if (s < HOUR) return `in ${Math.round(s / 60)} min`;
  if (s < 48 * HOUR) return `in ${Math.round(s / HOUR)} h`;
  return `in ${Math.round(s / (24 * HOUR))} days`;
}

/** When a grant ends, for people: "Ends at 18:05 (in 3 h)", "Ends when the screen locks". */
export function grantEnd(g: Pick<GrantInfo, 'expires_at' | 'until_lock'>, nowMs: number): string {
  if (g.expires_at != null) {
    const left = g.expires_at - nowMs / 1000;
    if (left <= 0) return 'Lapsed';
    const when = left < 20 * HOUR ? formatTime(g.expires_at) : formatDateTime(g.expires_at);
    return `Ends at ${when} (${formatIn(left)})`;
  }
  return g.until_lock ? 'Ends when the screen locks' : 'Until revoked';
}

/** Whether a grant lapses by itself (the page marks those). */
export function isTemporary(g: Pick<GrantInfo, 'expires_at' | 'until_lock'>): boolean {
  return g.expires_at != null || g.until_lock;
}
