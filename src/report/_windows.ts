/**
 * @module report/_windows
 * Which clock a report's windows are on, and which windows to show. A run on one clock has one
 * window. A run mixing clocks (a Triton trace file's steady clock beside wall-clock traces, or
 * Triton files of several servers: the `monotonic-clocks` warning) has no window: one spanning
 * the clocks has a meaningless length and rate, so every report shows each model's window on
 * its own requests' clock instead, as `--json` gives it per model.
 */
import { YEAR_2000_NS } from '../model/analysis.js';
import type { AnalysisResult } from '../model/analysis.js';
import { monotonicClock } from '../analyzer/index.js';
import { formatRate, formatWindowFor } from './_format.js';

/** A window's clock: `epoch` (wall-clock dates) or `monotonic` (a server's steady clock: lengths only). */
export type WindowClock = 'epoch' | 'monotonic';

/** One window a report shows. */
export interface ReportWindow {
  /** The model it is the window of; absent for the run's window. */
  readonly model?: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly clock: WindowClock;
  /** True when the model's own requests are on more than one clock: its window spans them too. */
  readonly mixed: boolean;
  readonly requests: number;
  readonly throughputRps: number;
}

/**
 * The run's clock: monotonic when any recognised source times on a steady clock, or when the run
 * starts before 2000 (an exporter that wrote a steady clock as Unix time: lengths, not 1970 dates).
 */
export function runClock(result: AnalysisResult): WindowClock {
  return monotonicClock(result.conventions) || (result.window !== undefined && result.window.startNs < YEAR_2000_NS) ? 'monotonic' : 'epoch';
}

/** True when the run's requests are timed on unrelated clocks (the analyzer warned `monotonic-clocks`). */
export function mixesClocks(result: AnalysisResult): boolean {
  return result.warnings.some((w) => w.code === 'monotonic-clocks');
}

/**
 * 2000-01-01T00:00:00Z in ns since the epoch. A steady clock counts from the host's boot, so its
 * times stay below this for a host up less than 30 years; a wall-clock trace is later than it.
 */

/**
 * The clocks each model's requests are on, when the run is not all on the wall clock: a request
 * from a monotonic source (its convention's clock) is on that clock, any other on the wall
 * clock unless timed before 2000. A source id read on both clocks (Triton: its trace file on the steady clock, its
 * OpenTelemetry mode on the wall clock) is told apart per request by its time (before 2000: a
 * steady clock). Empty when the run is all on the wall clock or has no per-request timings
 * (Prometheus).
 */
export function clocksByModel(result: AnalysisResult): Map<string, Set<WindowClock>> {
  const out = new Map<string, Set<WindowClock>>();
  const run = runClock(result);
  if (run === 'epoch') return out;
  const clocksOf = new Map<string, Set<WindowClock>>();
  for (const c of result.conventions) {
    let clocks = clocksOf.get(c.id);
    if (clocks === undefined) clocksOf.set(c.id, (clocks = new Set()));
    clocks.add(c.clock);
  }
  const t = result.timings;
  for (let i = 0; i < t.length; i++) {
    const model = t.model(i);
    const source = t.text('source', i);
    const known = source === undefined ? undefined : clocksOf.get(source);
    const byTime: WindowClock = t.startNs[i]! < YEAR_2000_NS ? 'monotonic' : 'epoch';
    const clock: WindowClock = source === undefined ? byTime : known === undefined ? run : known.size === 1 ? [...known][0]! : byTime;
    let clocks = out.get(model);
    if (clocks === undefined) out.set(model, (clocks = new Set()));
    clocks.add(clock);
  }
  return out;
}

/** One model's clock: monotonic when any of its requests is (its window then has no dates); else the run's. */
export function modelClock(clocks: ReadonlyMap<string, ReadonlySet<WindowClock>>, model: string, run: WindowClock): WindowClock {
  const own = clocks.get(model);
  if (own === undefined) return run;
  return own.has('monotonic') ? 'monotonic' : 'epoch';
}

/** The windows to show: the run's, or, in a run mixing clocks, one per model on its own clock. */
export function reportWindows(result: AnalysisResult): ReportWindow[] {
  const run = runClock(result);
  if (!mixesClocks(result)) {
    if (!result.window || !result.overall) return [];
    return [{ startNs: result.window.startNs, endNs: result.window.endNs, clock: run, mixed: false, requests: result.requests, throughputRps: result.overall.throughputRps }];
  }
  const clocks = clocksByModel(result);
  return result.models.map((m) => {
    const s = m.summary;
    return { model: s.model, startNs: s.windowStartNs, endNs: s.windowEndNs, clock: modelClock(clocks, s.model, run), mixed: (clocks.get(s.model)?.size ?? 1) > 1, requests: s.requests, throughputRps: s.throughputRps };
  });
}

/** A window in words, with its request rate when `withRate`: dates, or a length on a steady clock, or why there is none. */
export function formatReportWindow(w: ReportWindow, withRate: boolean): string {
  if (w.mixed) return 'no window: its requests are on unrelated clocks';
  const text = formatWindowFor(w.startNs, w.endNs, w.clock === 'monotonic', w.model === undefined ? 'the input' : 'its requests');
  return withRate ? `${text}, ${formatRate(w.requests, w.throughputRps)}` : text;
}

/** The heading of per-model windows, said once by every report. */
export const PER_MODEL_WINDOWS = "each on its own clock: the inputs are on unrelated clocks (see the warnings), so no window spans the run";
