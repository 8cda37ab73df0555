import { describe, expect, it } from 'vitest';
import { dayStart, filterActivity, handOutsPerDay, newestFirst, niceMax, OTHER_APPS } from '../src/lib/activity';
import type { ActivityInfo } from '../src/lib/types';

// Local times, so the tests hold in any time zone.
const at = (day: number, hour: number) => Math.floor(new Date(2026, 2, day, hour).getTime() / 1000);
let nextId = 1;
function row(over: Partial<ActivityInfo>): ActivityInfo {
  return { id: nextId++, at: at(14, 12), event: 'handed_out', app: '/usr/bin/msmtp', app_name: 'msmtp', account: 'work-1', scopes: ['email'], detail: '', count: 1, ...over };
}

describe('handOutsPerDay', () => {
  const now = at(14, 18);

  it('has one slot per day for the last 14 days, today last', () => {
    const chart = handOutsPerDay([], now);
    expect(chart.days).toHaveLength(14);
    expect(chart.days[13].start).toBe(dayStart(now));
    expect(chart.days[0].start).toBe(Math.floor(new Date(2026, 2, 1).getTime() / 1000));
    expect(chart.total).toBe(0);
    expect(chart.series).toEqual([]);
  });

  it('sums `count` of hand-outs only, per local day and app', () => {
    const chart = handOutsPerDay(
      [
        row({ at: at(14, 9), count: 3 }),
        row({ at: at(14, 23), count: 2 }),
        row({ at: at(14, 1) }), // count absent: 1
        row({ at: at(13, 8), count: 4 }),
        row({ at: at(13, 8), event: 'approved', count: 1 }), // not a hand-out
        row({ at: at(14, 10), app: '/usr/bin/gh', app_name: 'gh', count: 2 }),
        row({ at: at(1, 0), count: 5 }), // first day of the window
        row({ at: at(1, 0) - 1, count: 100 }), // the day before it: outside
      ],
      now,
    );
    expect(chart.series.map((s) => [s.name, s.total])).toEqual([
      ['msmtp', 15],
      ['gh', 2],
    ]);
    expect(chart.days[13].counts).toEqual([6, 2]);
    expect(chart.days[13].total).toBe(8);
    expect(chart.days[12].counts).toEqual([4, 0]);
    expect(chart.days[0].counts).toEqual([5, 0]);
    expect(chart.total).toBe(17);
    expect(chart.max).toBe(8);
  });

  it('puts apps beyond the busiest few into "other apps"', () => {
    const rows = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name, i) => row({ app: `/bin/${name}`, app_name: name, count: 10 - i }));
    const chart = handOutsPerDay(rows, now, 14, 5);
    expect(chart.series).toHaveLength(5);
    expect(chart.series.slice(0, 4).map((s) => s.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(chart.series[4]).toEqual({ key: OTHER_APPS, name: '3 other apps', total: 6 + 5 + 4 });
    expect(chart.days[13].total).toBe(rows.reduce((t, r) => t + (r.count ?? 1), 0));
  });
});

describe('filterActivity', () => {
  const rows = [
    row({ app: '/usr/bin/python3 /home/me/mail-sync.py', app_name: 'mail-sync.py' }),
    row({ app: '/usr/bin/msmtp', app_name: 'msmtp', event: 'denied' }),
    row({ app: 'flatpak:org.mozilla.Thunderbird', app_name: 'Thunderbird' }),
  ];
  it('matches the name or the key, any case', () => {
    expect(filterActivity(rows, { text: 'THUNDER', event: '' })).toHaveLength(1);
    expect(filterActivity(rows, { text: '/home/me', event: '' })[0].app_name).toBe('mail-sync.py');
    expect(filterActivity(rows, { text: '  ', event: '' })).toHaveLength(3);
  });
  it('filters by event type', () => {
    expect(filterActivity(rows, { text: '', event: 'denied' }).map((r) => r.app_name)).toEqual(['msmtp']);
    expect(filterActivity(rows, { text: 'msmtp', event: 'handed_out' })).toHaveLength(0);
  });
  it('sorts newest first', () => {
    const sorted = newestFirst([row({ at: 1 }), row({ at: 3 }), row({ at: 2 })]);
    expect(sorted.map((r) => r.at)).toEqual([3, 2, 1]);
  });
});

describe('niceMax', () => {
  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 1, 2, 3, 7, 10, 11, 26, 51, 180].map(niceMax)).toEqual([1, 1, 2, 5, 10, 10, 20, 50, 100, 200]);
  });
});
