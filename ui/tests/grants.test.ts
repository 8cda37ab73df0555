import { describe, expect, it } from 'vitest';
import { groupGrantsByApp } from '../src/lib/grants';
import type { AppInfo, GrantInfo } from '../src/lib/types';

const app = (key: string, name: string): AppInfo => ({ key, name, exe: key, sandboxed: false });
const grant = (id: number, a: AppInfo, account: string, last: number | null, uses: number): GrantInfo => ({ id, app: a, account, scopes: ['email'], created_at: 1, last_used_at: last, use_count: uses, until_lock: false });

describe('groupGrantsByApp', () => {
  const msmtp = app('/usr/bin/msmtp', 'msmtp');
  const tb = app('flatpak:org.mozilla.Thunderbird', 'Thunderbird');
  const unused = app('/usr/bin/rclone', 'rclone');

  it('makes one group per app key with its grants, uses and latest use', () => {
    const groups = groupGrantsByApp([grant(1, msmtp, 'work', 100, 5), grant(2, tb, 'work', 300, 1), grant(3, tb, 'google', 200, 2), grant(4, unused, 'google', null, 0)]);
    expect(groups.map((g) => g.app.name)).toEqual(['Thunderbird', 'msmtp', 'rclone']); // most recently used first
    expect(groups[0].grants.map((g) => g.account)).toEqual(['google', 'work']);
    expect(groups[0].useCount).toBe(3);
    expect(groups[0].lastUsedAt).toBe(300);
    expect(groups[2].lastUsedAt).toBeNull();
  });

  it('is empty for no grants', () => {
    expect(groupGrantsByApp([])).toEqual([]);
  });
});
