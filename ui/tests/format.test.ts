import { describe, expect, it } from 'vitest';
import { accountDetail, accountWho, appPath, formatCountdown, formatRelative, monogram, revocationWords, secondsUntil, usableIcon } from '../src/lib/format';

describe('formatCountdown', () => {
  it('shows minutes and zero-padded seconds', () => {
    expect(formatCountdown(125)).toBe('2:05');
    expect(formatCountdown(59.2)).toBe('1:00'); // rounds up: never shows 0:00 while time is left
    expect(formatCountdown(9)).toBe('0:09');
  });
  it('adds hours past an hour', () => {
    expect(formatCountdown(3725)).toBe('1:02:05');
  });
  it('never goes negative', () => {
    expect(formatCountdown(-30)).toBe('0:00');
  });
  it('counts from a Unix-seconds deadline and a millisecond clock', () => {
    expect(secondsUntil(1000, 990_000)).toBe(10);
    expect(secondsUntil(1000, 2_000_000)).toBe(0);
  });
});

describe('formatRelative', () => {
  const now = 1_800_000_000 * 1000;
  const ago = (s: number) => now / 1000 - s;
  it('reads like a person would say it', () => {
    expect(formatRelative(ago(10), now)).toBe('just now');
    expect(formatRelative(ago(5 * 60), now)).toBe('5 min ago');
    expect(formatRelative(ago(3 * 3600), now)).toBe('3 h ago');
    expect(formatRelative(ago(86400 + 100), now)).toBe('yesterday');
    expect(formatRelative(ago(4 * 86400), now)).toBe('4 days ago');
    expect(formatRelative(null, now)).toBe('never');
  });
  it('gives a date for old times', () => {
    expect(formatRelative(ago(40 * 86400), now)).toMatch(/\d{4}/);
  });
});

describe('accounts', () => {
  it('name people by email, then name, then subject', () => {
    expect(accountWho({ email: 'a@x.test', name: 'A', subject: 's' })).toBe('a@x.test');
    expect(accountWho({ email: null, name: 'A', subject: 's' })).toBe('A');
    expect(accountWho({ email: null, name: null, subject: 's' })).toBe('s');
    expect(accountDetail({ email: 'a@x.test', name: 'A', subject: 's' })).toBe('A');
    expect(accountDetail({ email: null, name: 'A', subject: 's' })).toBe('');
  });
});

describe('revocationWords', () => {
  it('says what the provider said', () => {
    expect(revocationWords({ status: 'confirmed' })).toMatch(/confirmed/);
    expect(revocationWords({ status: 'not_supported', hint: 'see https://github.com/settings/applications' })).toContain('github.com/settings');
    expect(revocationWords({ status: 'not_supported' })).toMatch(/settings/);
    expect(revocationWords({ status: 'failed', reason: 'timed out' })).toContain('timed out');
    expect(revocationWords({ status: 'not_needed', reason: 'no cached token' })).toContain('no cached token');
  });
});

describe('apps', () => {
  it('show the script for interpreters and the app id for Flatpaks', () => {
    expect(appPath({ exe: '/usr/bin/python3', script: '/home/me/x.py' })).toBe('/home/me/x.py (/usr/bin/python3)');
    expect(appPath({ exe: '/usr/bin/msmtp' })).toBe('/usr/bin/msmtp');
    expect(appPath({ exe: '/app/bin/tb', flatpak_app: 'org.mozilla.Thunderbird' })).toBe('Flatpak org.mozilla.Thunderbird');
  });
  it('get initials when they have no icon', () => {
    expect(monogram('mail-sync.py')).toBe('MS');
    expect(monogram('msmtp')).toBe('MS');
    expect(monogram('Thunderbird')).toBe('TH');
    expect(monogram('GitHub CLI')).toBe('GC');
  });
  it('only show data: images (the CSP allows nothing else)', () => {
    expect(usableIcon('data:image/png;base64,AAAA')).toBe('data:image/png;base64,AAAA');
    expect(usableIcon('org.mozilla.Thunderbird')).toBeNull();
    expect(usableIcon('https://evil.example/x.png')).toBeNull();
    expect(usableIcon('data:text/html;base64,AAAA')).toBeNull();
  });
});
