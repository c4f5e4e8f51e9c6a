/**
 * @module prometheus/extent
 * Where an engine's data lies in time: the first and last sample of some series. Read when the
 * range asked for measured nothing, so the one-line error can say where the data is (the
 * Prometheus API has no call for a series' first or last sample, so it is found by counting).
 */
import type { PrometheusClient } from './client.js';
import { series } from './promql.js';

/** How far back from now the extent is looked for: beyond a year, a longer retention than most. */
export const EXTENT_SEARCH_S = 400 * 86_400;

/** Points per range query: Prometheus refuses more than 11 000 per series. */
const POINTS = 10_000;

/** First and last sample time, unix seconds (the whole second each falls in). */
export interface DataExtent {
  readonly firstS: number;
  readonly lastS: number;
}

/**
 * The extent of the series named `names` (matching `selector`, label matchers without braces)
 * between `fromS` and `toS`; undefined when they hold no sample there. Three range queries:
 * one over the whole span in windows of span ÷ 10 000 that each say whether they hold a sample,
 * then one inside the first and one inside the last such window, in 1 s windows (or coarser for
 * a span beyond 3 years).
 */
export async function dataExtent(client: PrometheusClient, names: readonly string[], selector: string, fromS: number, toS: number): Promise<DataExtent | undefined> {
  // Evaluated at t, a window of w seconds holds the samples in (t − w, t]: contiguous steps of w cover the span.
  const held = async (startS: number, endS: number, w: number): Promise<number[]> => {
    // One count per name: count_over_time drops the name, so names sharing labels cannot share a vector.
    const expr = names.map((name) => `count(count_over_time(${series(name, selector)}[${w}s]))`).join(' or ');
    const result = await client.queryRange(expr, startS + w, endS + w, w);
    return (result[0]?.values ?? []).filter(([, v]) => Number(v) > 0).map(([t]) => Number(t));
  };
  const coarse = Math.max(1, Math.ceil((toS - fromS) / POINTS));
  const windows = await held(fromS, toS, coarse);
  if (windows.length === 0) return undefined;
  const fine = Math.max(1, Math.ceil(coarse / POINTS));
  const firstWindow = windows[0]!;
  const lastWindow = windows[windows.length - 1]!;
  const [first, last] = await Promise.all([held(firstWindow - coarse, firstWindow, fine), held(lastWindow - coarse, lastWindow, fine)]);
  // A sample in (t − w, t] falls in the second that starts at t − w (w = 1 s).
  return { firstS: (first[0] ?? firstWindow) - fine, lastS: (last[last.length - 1] ?? lastWindow) - fine };
}
