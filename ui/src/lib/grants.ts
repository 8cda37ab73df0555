// The Apps & grants page shows grants by program: one group per app key.

import type { AppInfo, GrantInfo } from './types';

export interface AppGrants {
  app: AppInfo;
  grants: GrantInfo[];
  /** The latest use of any of its grants, or null when none was used yet. */
  lastUsedAt: number | null;
  useCount: number;
}

/** Groups by app key; the most recently used app first, then by name. */
export function groupGrantsByApp(grants: GrantInfo[]): AppGrants[] {
  const groups = new Map<string, AppGrants>();
  for (const g of grants) {
    let group = groups.get(g.app.key);
    if (!group) groups.set(g.app.key, (group = { app: g.app, grants: [], lastUsedAt: null, useCount: 0 }));
    group.grants.push(g);
    group.useCount += g.use_count;
    if (g.last_used_at != null && (group.lastUsedAt == null || g.last_used_at > group.lastUsedAt)) {
      group.lastUsedAt = g.last_used_at;
    }
  }
  for (const group of groups.values()) {
    group.grants.sort((a, b) => a.account.localeCompare(b.account) || a.id - b.id);
  }
  return [...groups.values()].sort(
    (a, b) => (b.lastUsedAt ?? -1) - (a.lastUsedAt ?? -1) || a.app.name.localeCompare(b.app.name),
  );
}
