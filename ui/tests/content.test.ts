import { describe, expect, it } from 'vitest';
import { changeWords, contentWords, updateWords } from '../src/lib/content';

describe('program content in words', () => {
  it('names packages by version and other files by hash', () => {
    const c = {
      exe: { sha256: 'aa'.repeat(32), package: { name: 'python3.11-minimal', version: '3.11.2-6' } },
      script: { sha256: '1a2b3c4d5e6f7a8b'.repeat(4) },
    };
    expect(contentWords(c)).toBe('python3.11-minimal 3.11.2-6 + sha256 1a2b3c4d5e6f…');
    expect(contentWords(null)).toMatch(/not recorded yet/);
    expect(contentWords({ flatpak: { app: 'org.example.Mail', commit: 'c0ffee00112233445566' } })).toBe('org.example.Mail commit c0ffee001122…');
  });

  it('says what changed and why a grant moved', () => {
    const allowed = {};
    expect(changeWords({ grant: 1, allowed_at: 0, parts: ['script'], allowed })).toBe('the script differs');
    expect(changeWords({ grant: 1, allowed_at: 0, parts: ['executable', 'script'], allowed })).toBe('the executable and the script differ');
    expect(updateWords({ at: 0, reason: { kind: 'package_upgrade', packages: [{ package: 'msmtp', from: '1.8.22-1', to: '1.8.24-1' }] } })).toBe('Kept after a package upgrade: msmtp 1.8.22-1 → 1.8.24-1');
    expect(updateWords({ at: 0, reason: { kind: 'first_use' } })).toMatch(/first use/);
  });
});
