import { describe, expect, it } from 'vitest';
import { formatIn, grantEnd, isTemporary, ONCE, REMEMBER } from '../src/lib/approval';

describe('approval lengths', () => {
  it('offers once, 1 h, 8 h, until lock and always, and only "always" lasts until revoked', () => {
    expect(ONCE).toMatchObject({ testid: 'approve-once', decision: 'approve_once' });
    expect(REMEMBER.map((l) => [l.testid, l.decision, l.forSecs])).toEqual([
      ['approve-1h', 'approve_for', 3600],
      ['approve-8h', 'approve_for', 8 * 3600],
      ['approve-until-lock', 'approve_until_lock', undefined],
      ['approve-always', 'approve_always', undefined],
    ]);
    expect(REMEMBER.every((l) => l.title.length > 0)).toBe(true);
  });

  it('says in how long', () => {
    expect(formatIn(1.2)).toBe('in 2 s');
    expect(formatIn(45)).toBe('in 45 s');
    expect(formatIn(20 * 60)).toBe('in 20 min');
    expect(formatIn(3 * 3600)).toBe('in 3 h');
    expect(formatIn(5 * 86400)).toBe('in 5 days');
  });

  it('says when a grant ends', () => {
    const now = 1_800_000_000;
    const ms = now * 1000;
    expect(grantEnd({ expires_at: now + 2, until_lock: false }, ms)).toMatch(/^Ends at .+ \(in 2 s\)$/);
    expect(grantEnd({ expires_at: now, until_lock: false }, ms)).toBe('Lapsed');
    expect(grantEnd({ until_lock: true }, ms)).toBe('Ends when the screen locks');
    expect(grantEnd({ until_lock: false }, ms)).toBe('Until revoked');
    expect(isTemporary({ expires_at: now, until_lock: false })).toBe(true);
    expect(isTemporary({ until_lock: true })).toBe(true);
    expect(isTemporary({ expires_at: null, until_lock: false })).toBe(false);
  });
});
