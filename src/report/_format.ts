/**
 * @module report/_format
 * Internal: number, time and table formatting shared by the text and markdown reports.
 */
import type { TraceFormat } from '../model/span.js';
import type { TimeRangeCut } from '../model/analysis.js';
import { escapedChar, rangeWords } from '../errors.js';
import type { GenerationSummary, ModelSummary, Percentiles } from '../model/summary.js';
import { OTHER, PHASES } from '../semconv.js';
import type { PhaseOrOther } from '../semconv.js';
import { isMean, statName } from '../analyzer/diagnose/statistic.js';
import { formatCount, formatDuration } from '../model/count.js';
import { eastAsianWidth } from 'get-east-asian-width';

/** Token facts of a generation summary, short enough for an 80-column line each: counts, then cache and rate. */
export function formatTokens(g: GenerationSummary): string[] {
  const count = (n: number): string => formatCount(Math.round(n));
  // Counter sources (Prometheus path) give a mean per request and no percentiles.
  const dist = (label: string, c: { readonly p50: number; readonly p95: number; readonly mean: number }): string => (Number.isFinite(c.p50) ? `${label} p50 ${count(c.p50)} (p95 ${count(c.p95)})` : `${label} mean ${count(c.mean)}`);
  const counts: string[] = [];
  if (g.tokensIn) counts.push(dist('prompt', g.tokensIn));
  if (g.tokensOut) counts.push(dist('output', g.tokensOut));
  const rates: string[] = [];
  // Σ output ÷ window is the service's throughput; one stream's speed is 1000 ÷ TPOT, often far lower.
  const tpotMs = g.tpot === undefined ? Number.NaN : isMean(g.tpot) ? g.tpot.meanMs : g.tpot.p50Ms;
  const stream = tpotMs > 0 ? ` (one stream: ${(1000 / tpotMs).toFixed(1)}/s at TPOT ${statName(g.tpot, 'p50')})` : '';
  if (g.tokensPerS !== undefined) rates.push(`${count(g.tokensPerS)} output tokens/s over all streams${stream}`);
  if (g.cachedShare !== undefined) rates.push(`${formatShare(g.cachedShare)} of prompt tokens from the prefix cache`);
  return [...(counts.length > 0 ? [`Tokens: ${counts.join(' · ')}`] : []), ...rates];
}

/**
 * Control bytes (C0 but tab and newline, DEL, C1) and bidi overrides, alone, or an SGR colour
 * sequence as a whole: what a terminal would act on.
 */
const TERMINAL_CONTROLS = /\u001b\[[0-9;]*m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control byte and bidi override shown as `\xNN` / `\uNNNN`, so names copied
 * from an input file (model, service, operation) cannot set the window title, clear the screen
 * or write the clipboard. `keepColors`: SGR colour sequences are kept (the report's own, on a
 * terminal; one copied from the input can change a colour, nothing more).
 */
export function escapeControls(text: string, keepColors = false): string {
  return text.replace(TERMINAL_CONTROLS, (m) => (m.length > 1 ? (keepColors ? m : `${escapedChar(m[0]!)}${m.slice(1)}`) : escapedChar(m)));
}

/** A model's name for a heading: an empty `inference.model.name` would leave the heading blank. */
export function modelName(name: string): string {
  return name === '' ? '(empty model name)' : printable(name);
}

/**
 * A name from the input on one line: its newlines and tabs, which `escapeControls` keeps for the
 * report's own layout, written as `\n` / `\t`. Real exports hold span names such as "\n" (the
 * Zipkin Lens SmartThings trace), which broke a table row in two.
 */
export function printable(text: string): string {
  return text.replace(/[\n\t]/g, (ch) => (ch === '\n' ? '\\n' : '\\t'));
}

/** Milliseconds with precision that suits their size: 0.42, 12.3, 1,234. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 1000) return ms.toFixed(1);
  return formatCount(Math.round(ms));
}

/** A size in bytes as MiB to one decimal, KiB under one MiB. */
export function formatBytes(bytes: number): string {
  return bytes < 1 << 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** A 0–1 share as a percentage: 63.2%. */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

// An integer with thousands separators: in model/count, where the warnings write it the same way.
export { formatCount };

/** "1 request", "2,640 requests": a count with its noun, singular for one. */
export function formatCountOf(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * `kept` requests (or traces) as a count of the input's when a `--start`/`--end` range cut it:
 * "40 of 220 requests (those that start between A and B)", so a count of the range is not read as
 * the input's or the other way round; "40 requests" without a range.
 */
export function formatKeptOf(kept: number, noun: 'request' | 'trace', cut: TimeRangeCut | undefined): string {
  if (cut === undefined) return formatCountOf(kept, noun);
  const input = noun === 'request' ? cut.inputRequests : cut.inputTraces;
  // A trace is placed by its first span, as the analyzer keeps it.
  const which = noun === 'trace' ? 'those whose first span starts' : 'those that start';
  return `${formatCount(kept)} of ${formatCountOf(input, noun)} (${which} ${rangeWords(cut)})`;
}

/** Six decimals, for the JSON reports: ns resolution for ms values, enough for shares and ratios; keeps the output readable. */
export function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}


/** ns since epoch → ISO 8601 UTC with milliseconds. */
export function isoTime(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

/** "2026-01-01 10:00:00 → 10:00:30 UTC (30.0 s)"; the end drops the date when it is the same day. */
export function formatWindow(startNs: bigint, endNs: bigint): string {
  const start = isoTime(startNs).replace('T', ' ').replace(/\.\d+Z$/, '');
  const endIso = isoTime(endNs).replace('T', ' ').replace(/\.\d+Z$/, '');
  const end = endIso.slice(0, 10) === start.slice(0, 10) ? endIso.slice(11) : endIso;
  return `${start} → ${end} UTC (${formatDuration(Number(endNs - startNs) / 1e9)})`;
}

/**
 * The window line's text: wall-clock dates, or only the length when the times come from a
 * monotonic clock (Triton's trace file), which would otherwise print as a 1970 date.
 */
export function formatWindowFor(startNs: bigint, endNs: bigint, monotonic: boolean, whose = 'the input'): string {
  if (!monotonic) return formatWindow(startNs, endNs);
  const ms = Number(endNs - startNs) / 1e6;
  return `${ms < 1000 ? `${formatMs(ms)} ms` : formatDuration(ms / 1000)} on the server's monotonic clock (no wall-clock time in ${whose})`;
}

/** A model whose every request failed or was cancelled (TGI's router spans count them): in place of its phase table. */
export const NO_COMPLETED = 'No request completed: no latency to measure (a failed or cancelled request records none).';

/** Requests per second, or why there is none: a rate needs at least two requests. */
export function formatRate(requests: number, rps: number): string {
  return requests >= 2 ? `${rps.toFixed(1)} req/s` : requests === 1 ? 'no rate from one request' : 'no rate';
}

/** What the recognised sources never record, each named once ("batch size (…)"), or '' when nothing. */
export function formatUnseen(uses: readonly { readonly unseen: readonly string[] }[]): string {
  return [...new Set(uses.flatMap((u) => u.unseen))].join('; ');
}

/** "Triton trace file 2.x (3 requests), vLLM … (2 requests)". */
export function formatConventions(uses: readonly { readonly label: string; readonly requests: number }[], cut?: TimeRangeCut): string {
  // Counted as the spans were read: under a range, of the whole input, not of the range.
  const whole = cut === undefined ? '' : ' in the input';
  return uses.map((u) => `${u.label} (${formatCountOf(u.requests, 'request')}${whole})`).join(', ');
}

/** Human name of an input format. */
export function formatName(format: TraceFormat): string {
  const names: Record<TraceFormat, string> = {
    'otlp-json': 'OTLP JSON',
    'otlp-jsonl': 'OTLP JSON lines',
    'otlp-proto': 'OTLP protobuf',
    'jaeger-json': 'Jaeger JSON',
    'zipkin-json': 'Zipkin v2 JSON',
    'python-console': 'Python console spans',
    'triton-trace': 'Triton trace',
    'gpu-samples': 'GPU samples',
  };
  return names[format];
}

/**
 * Terminal columns `text` takes: two for East Asian wide and fullwidth characters (Unicode UAX #11,
 * https://www.unicode.org/reports/tr11/), none for combining marks, one otherwise. Counting
 * characters instead shifted every column after a Chinese service name (the Zipkin benchmark's
 * 订单维护服务) by the name's length.
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += COMBINING.test(ch) ? 0 : eastAsianWidth(ch.codePointAt(0)!);
  return width;
}
const COMBINING = /^[\p{Mn}\p{Me}\u200b-\u200d]$/u;

/** `text` padded with spaces to `width` terminal columns (String.padEnd counts characters). */
export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** Shortens text to `width` terminal columns with an ellipsis in the middle (keeps file names recognisable). */
export function fit(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 1) return '…';
  const chars = [...text];
  const take = (from: readonly string[], columns: number): string[] => {
    const out: string[] = [];
    let used = 0;
    for (const ch of from) {
      const w = displayWidth(ch);
      if (used + w > columns) break;
      out.push(ch);
      used += w;
    }
    return out;
  };
  const headColumns = Math.ceil((width - 1) / 2);
  const head = take(chars, headColumns);
  const tail = take([...chars].reverse(), width - 1 - displayWidth(head.join(''))).reverse();
  return `${head.join('')}…${tail.join('')}`;
}

/** A horizontal bar of `width` cells for a 0–1 share, in eighths. */
export function bar(share: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, share)) * width * 8);
  const full = Math.floor(eighths / 8);
  const rest = eighths % 8;
  return '█'.repeat(full) + (rest > 0 ? '▏▎▍▌▋▊▉'[rest - 1]! : '');
}

/**
 * Under a phase table, when its figures are not per-request percentiles: that the percentiles
 * were interpolated from histogram buckets, and the mean of each row that has no percentile at
 * all (its source has only a sum and a count), so the table's "–" is never the only figure.
 * Empty on the trace path.
 */
export function statisticNotes(s: ModelSummary): string[] {
  const rows: [string, Percentiles][] = [...([...PHASES, OTHER] as PhaseOrOther[]).flatMap((p): [string, Percentiles][] => (s.phases[p] ? [[p, s.phases[p]]] : [])), ['end-to-end', s.e2e]];
  if (s.generation?.ttft) rows.push(['TTFT', s.generation.ttft]);
  if (s.generation?.tpot) rows.push(['TPOT', s.generation.tpot]);
  if (s.generation?.itl) rows.push(['ITL', s.generation.itl]);
  const notes: string[] = [];
  const buckets = rows.filter(([, d]) => d.statistic === 'bucket-percentile').map(([name]) => name);
  // A row with no mean either (a histogram without _sum) has nothing to list here.
  const means = rows.filter(([, d]) => d.statistic === 'mean' && Number.isFinite(d.meanMs));
  if (buckets.length > 0) notes.push(`Percentiles ${buckets.length === rows.length ? '' : `of ${buckets.join(', ')} `}interpolated from histogram buckets (histogram_quantile): only as fine as the buckets; max is the upper bound of the highest bucket holding a request, not a measured maximum.`);
  if (means.length > 0) notes.push(`Means only (a sum and a count, no percentile): ${means.map(([name, d]) => `${name} ${formatMs(d.meanMs)} ms`).join(', ')}.`);
  return notes;
}

/** " (2 server, 1 client), 4 cancelled by the client", or '' where the source does not tell who ended a failed request. */
export function failureSplit(s: ModelSummary): string {
  const f = s.failures;
  if (f === undefined) return '';
  const split = s.errors > 0 ? ` (${formatCount(f.server)} server, ${formatCount(f.client)} client)` : '';
  return `${split}, ${formatCount(f.cancelled)} cancelled by the client`;
}
