/**
 * @module analyzer/diagnose/slo
 * Latency objectives (`--slo p99=250ms,p95=100ms`): parsing and checking against the
 * end-to-end percentiles the report prints, so the verdict and the table agree.
 */
import type { SloResult } from '../../model/diagnosis.js';
import type { Percentiles } from '../../model/summary.js';
import { DiagnoseOptionError } from './errors.js';

/** Latency targets in milliseconds. */
export interface SloTargets {
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly p99Ms?: number;
}

const UNIT_MS: Readonly<Record<string, number>> = { '': 1, ms: 1, s: 1000, us: 0.001, 'µs': 0.001, μs: 0.001 };
const EXPECTED = 'a comma-separated list like p99=250ms,p95=100ms (quantiles p50, p95, p99; units ms, s, us)';

/** Parse `p99=250ms,p95=100ms` (also `p99<250ms`, `p99:0.25s`); throws DiagnoseOptionError. */
export function parseSlo(text: string): SloTargets {
  const out: { p50Ms?: number; p95Ms?: number; p99Ms?: number } = {};
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new DiagnoseOptionError('--slo', text, EXPECTED);
  for (const part of parts) {
    const m = /^p(50|95|99)\s*(?:=|<=|<|:)\s*([0-9]*\.?[0-9]+)\s*(ms|s|us|µs|μs)?$/i.exec(part);
    if (!m) throw new DiagnoseOptionError('--slo', part, EXPECTED);
    const value = Number(m[2]) * (UNIT_MS[(m[3] ?? '').toLowerCase()] ?? 1);
    if (!(value > 0)) throw new DiagnoseOptionError('--slo', part, 'a target above zero');
    if (m[1] === '50') out.p50Ms = value;
    else if (m[1] === '95') out.p95Ms = value;
    else out.p99Ms = value;
  }
  return out;
}

/** Check targets against measured end-to-end percentiles; `unmeasuredWhy` names why a quantile may be missing. */
export function checkSlo(targets: SloTargets, e2e: Pick<Percentiles, 'p50Ms' | 'p95Ms' | 'p99Ms' | 'statistic'>, unmeasuredWhy = 'means only'): SloResult {
  const checks: SloResult['checks'][number][] = [];
  const add = (quantile: 'p50' | 'p95' | 'p99', targetMs: number | undefined, actualMs: number): void => {
    if (targetMs !== undefined) checks.push({ quantile, targetMs, actualMs, met: actualMs <= targetMs });
  };
  add('p50', targets.p50Ms, e2e.p50Ms);
  add('p95', targets.p95Ms, e2e.p95Ms);
  add('p99', targets.p99Ms, e2e.p99Ms);
  // Counter sources (Triton, TorchServe) have no percentiles: NaN is "not measured", never "violated".
  const unmeasured = checks.filter((c) => !Number.isFinite(c.actualMs)).map((c) => c.quantile);
  return { met: checks.every((c) => c.met), checks, ...(e2e.statistic !== undefined ? { statistic: e2e.statistic } : {}), ...(unmeasured.length > 0 ? { unmeasured, unmeasuredWhy } : {}) };
}
