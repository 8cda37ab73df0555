// The Activity page's logic: filtering the log and counting hand-outs per day for the chart.

import type { ActivityInfo } from './types';

export interface ActivityFilter {
  /** Part of an app's name or key, any case. */
  text: string;
  /** An event name, or '' for every event. */
  event: string;
}

export function filterActivity(rows: ActivityInfo[], filter: ActivityFilter): ActivityInfo[] {
  const needle = filter.text.trim().toLowerCase();
  return rows.filter(
    (r) =>
      (!filter.event || r.event === filter.event) &&
      (!needle || r.app_name.toLowerCase().includes(needle) || r.app.toLowerCase().includes(needle)),
  );
}

/** Newest first, whatever order the rows came in. */
export function newestFirst(rows: ActivityInfo[]): ActivityInfo[] {
  return [...rows].sort((a, b) => b.at - a.at || b.id - a.id);
}

export interface ChartSeries {
  /** App key ('' stands for "other apps"). */
  key: string;
  name: string;
  total: number;
}

export interface ChartDay {
  /** Local midnight, Unix seconds. */
  start: number;
  total: number;
  /** Hand-outs per series, in `series` order. */
  counts: number[];
}

export interface HandOutChart {
  days: ChartDay[];
  series: ChartSeries[];
  max: number;
  total: number;
}

export const OTHER_APPS = '';

/** Local midnight of the day holding `at` (Unix seconds), in Unix seconds. */
export function dayStart(at: number): number {
  const d = new Date(at * 1000);
  d.setHours(0, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

/**
 * Hand-outs (`handed_out` rows, summing `count`) per local day for the `days` days up to
 * and including today, stacked by app. The busiest `maxSeries` apps get their own series;
 * the rest share "Other apps", so the legend stays readable.
 */
export function handOutsPerDay(rows: ActivityInfo[], nowSec: number, days = 14, maxSeries = 5): HandOutChart {
  // Walking back by calendar date (not 86400 s steps) keeps days right across DST changes.
  const today = new Date(dayStart(nowSec) * 1000);
  const starts: number[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(today);
    d.setDate(today.getDate() - i);
    starts.push(Math.floor(d.getTime() / 1000));
  }
  const index = new Map(starts.map((s, i) => [s, i]));

  const perApp = new Map<string, { name: string; total: number; perDay: number[] }>();
  for (const r of rows) {
    if (r.event !== 'handed_out') continue;
    const i = index.get(dayStart(r.at));
    if (i === undefined) continue;
    const n = r.count ?? 1;
    let app = perApp.get(r.app);
    if (!app) perApp.set(r.app, (app = { name: r.app_name || r.app || 'unknown program', total: 0, perDay: starts.map(() => 0) }));
    app.total += n;
    app.perDay[i] += n;
  }

  const ranked = [...perApp.entries()].sort((a, b) => b[1].total - a[1].total || a[1].name.localeCompare(b[1].name));
  const own = ranked.length > maxSeries ? ranked.slice(0, maxSeries - 1) : ranked;
  const rest = ranked.slice(own.length);
  const series: ChartSeries[] = own.map(([key, a]) => ({ key, name: a.name, total: a.total }));
  const perDaySeries = own.map(([, a]) => a.perDay);
  if (rest.length) {
    series.push({ key: OTHER_APPS, name: `${rest.length} other apps`, total: rest.reduce((t, [, a]) => t + a.total, 0) });
    perDaySeries.push(starts.map((_, i) => rest.reduce((t, [, a]) => t + a.perDay[i], 0)));
  }

  const chartDays = starts.map((start, i) => {
    const counts = perDaySeries.map((p) => p[i]);
    return { start, counts, total: counts.reduce((a, b) => a + b, 0) };
  });
  const total = chartDays.reduce((t, d) => t + d.total, 0);
  return { days: chartDays, series, max: Math.max(0, ...chartDays.map((d) => d.total)), total };
}

/** A round top for the y axis: 1, 2, 5, 10, 20, 50… at or above `max`. */
export function niceMax(max: number): number {
  if (max <= 1) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
}
