import { describe, expect, it } from 'vitest';
import { chainText, genericReason } from '../src/lib/chain';
import type { AppInfo } from '../src/lib/types';

const app = (over: Partial<AppInfo> = {}): AppInfo => ({ key: '/usr/bin/msmtp', name: 'msmtp', exe: '/usr/bin/msmtp', sandboxed: false, ...over });

describe('the chain and the generic reason', () => {
  it('says how a request through the CLI got here, or nothing for a program that asked itself', () => {
    expect(chainText(app({ chain: ['msmtp', 'dash -c', 'sesame token'] }))).toBe('msmtp → dash -c → sesame token');
    expect(chainText(app({ chain: ['msmtp'] }))).toBeNull();
    expect(chainText(app())).toBeNull();
  });

  it('makes the reason one sentence, program names as code', () => {
    const why = genericReason(app({ generic: '`python3.11 -c` runs code written on its command line' }));
    expect(why).toEqual([
      { text: 'python3.11 -c', code: true },
      { text: ' runs code written on its command line.', code: false },
    ]);
    expect(genericReason(app({ generic: 'the request came from `systemd`, a service manager' }))?.[0].text).toBe('The request came from ');
    expect(genericReason(app())).toBeNull();
    expect(genericReason(app({ generic: null }))).toBeNull();
  });
});
