/**
 * @module formats/gpu-samples
 * Reads the sidecar's sample file (`latency-doctor sidecar --samples-file FILE`): JSON lines, one
 * GpuSample per line with `schema` = GPU_SAMPLE_SCHEMA; gzip/zstd compressed files are read
 * too. A line that is not a sample (a cut-off last line is what a killed sidecar leaves) is
 * skipped with a counted warning naming file and line (strict: a TraceFormatError). Values
 * outside their physical range (model/gpu-ranges) are dropped, as the sidecar drops them, and
 * reported through `onOutOfRange`: a file written by an older sidecar or edited by hand cannot
 * feed the analyzer 1e308 °C.
 */
import { checkGpuRanges } from '../model/gpu-ranges.js';
import type { GpuSample, GpuState } from '../model/gpu.js';
import { GPU_SAMPLE_SCHEMA } from '../semconv.js';
import { openFile } from './_bytes.js';
import { ReadContext } from './_context.js';
import type { ReadWarning } from './_context.js';
import type { OpenedTrace } from './detect.js';
import { isObject } from './_shared.js';
import { describeText, describeValue, TraceFormatError } from './errors.js';

function isGpuState(value: unknown): value is GpuState {
  return isObject(value) && typeof value['uuid'] === 'string' && value['uuid'] !== '';
}

/** True when `value` is one sample line as the sidecar writes it (schema, finite timeMs, gpus with uuids). */
export function isGpuSampleRecord(value: unknown): value is GpuSample {
  return (
    isObject(value) &&
    value['schema'] === GPU_SAMPLE_SCHEMA &&
    typeof value['timeMs'] === 'number' &&
    Number.isFinite(value['timeMs']) &&
    Array.isArray(value['gpus']) &&
    value['gpus'].every(isGpuState) &&
    (value['host'] === undefined || isObject(value['host']))
  );
}

function whyNotSample(value: unknown): string {
  if (!isObject(value)) return describeValue(value);
  if (value['schema'] !== GPU_SAMPLE_SCHEMA) return `schema ${JSON.stringify(value['schema'] ?? null)}`;
  if (typeof value['timeMs'] !== 'number' || !Number.isFinite(value['timeMs'])) return `timeMs ${describeValue(value['timeMs'])}`;
  if (!Array.isArray(value['gpus'])) return `gpus ${describeValue(value['gpus'])}`;
  const bad = value['gpus'].findIndex((g) => !isGpuState(g));
  if (bad >= 0) return `gpus[${bad}] without a uuid`;
  return `host ${describeValue(value['host'])}`;
}

/**
 * The longest line read as a sample: one GPU's sample is about 1 KB, so this is thousands of
 * GPUs. A longer one (the NUL bytes a power loss leaves at a file's end, another file's content)
 * is skipped without being held, and the file is read in one pass whatever its lines.
 */
const MAX_SAMPLE_LINE = 16 * 2 ** 20;

/** Options of readGpuSamples. */
export interface GpuSampleReadOptions {
  /** Throw at the first line that is not a sample instead of skipping it. Default false. */
  readonly strict?: boolean;
  /** Called once per kind of skipped line, with its count, when the file has been read. Default: none. */
  readonly onWarning?: (warning: ReadWarning) => void;
  /** Called once per line that had out-of-range values (dropped), with `FILE:LINE` and the `field=value` texts. Default: ignored. */
  readonly onOutOfRange?: (place: string, rejected: readonly string[]) => void;
}

/** The sample with every GPU's out-of-range values dropped, and what was dropped. */
export function checkGpuSampleRanges(sample: GpuSample): { readonly sample: GpuSample; readonly rejected: readonly string[] } {
  let rejected: string[] | undefined;
  const gpus = sample.gpus.map((gpu) => {
    const checked = checkGpuRanges(gpu);
    if (checked.rejected.length > 0) (rejected ??= []).push(...checked.rejected.map((r) => `${gpu.uuid} ${r}`));
    return checked.gpu;
  });
  return rejected === undefined ? { sample, rejected: [] } : { sample: { ...sample, gpus }, rejected };
}

/**
 * All samples of a sidecar sample file (a path, or what `openTrace` opened), sorted by time.
 * Blank lines are skipped; a line that is not JSON or not a sample is skipped and counted as a
 * warning (`FILE:LINE: expected …`; strict: thrown). A file with no sample at all is an error.
 */
export async function readGpuSamples(input: string | OpenedTrace, options: GpuSampleReadOptions = {}): Promise<GpuSample[]> {
  const opened = typeof input === 'string' ? await openFile(input) : input.sniffed.opened;
  const file = typeof input === 'string' ? input : input.file;
  const ctx = new ReadContext(file, options.strict === true);
  const samples: GpuSample[] = [];
  let lineNo = 0;
  const take = (line: string): void => {
    lineNo += 1;
    const text = lineNo === 1 ? line.replace(/^\uFEFF/, '') : line;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.skip(String(lineNo), 'one JSON GPU sample per line', describeText(text), 'line');
      return;
    }
    if (!isGpuSampleRecord(value)) {
      ctx.skip(String(lineNo), `a GPU sample (schema "${GPU_SAMPLE_SCHEMA}", timeMs, gpus[])`, whyNotSample(value), 'line');
      return;
    }
    const checked = checkGpuSampleRanges(value);
    if (checked.rejected.length > 0) options.onOutOfRange?.(`${file}:${lineNo}`, checked.rejected);
    samples.push(checked.sample);
  };
  // The line being read, as its pieces of the chunks (a line is decoded once it is whole), or
  // `undefined` past MAX_SAMPLE_LINE bytes: then it is only counted, never held.
  let parts: Buffer[] | undefined = [];
  let partBytes = 0;
  const endLine = (): void => {
    if (parts === undefined) {
      lineNo += 1;
      ctx.skip(String(lineNo), 'one JSON GPU sample per line', `a line longer than ${MAX_SAMPLE_LINE / 2 ** 20} MiB`, 'line');
    } else {
      const line = (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).toString('utf8');
      take(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    parts = [];
    partBytes = 0;
  };
  try {
    for await (const chunk of opened.content.chunks()) {
      for (let from = 0; ; ) {
        const newline = chunk.indexOf(0x0a, from);
        const end = newline === -1 ? chunk.length : newline;
        if (parts !== undefined && end > from) {
          partBytes += end - from;
          if (partBytes > MAX_SAMPLE_LINE) parts = undefined;
          else parts.push(chunk.subarray(from, end));
        }
        if (newline === -1) break;
        endLine();
        from = newline + 1;
      }
    }
    if (parts === undefined || partBytes > 0) endLine();
    const damage = opened.damage;
    if (damage !== undefined) ctx.skip(damage.location, damage.expected, damage.got, 'record');
  } finally {
    await opened.content.close();
  }
  if (samples.length === 0) {
    const first = ctx.warnings()[0];
    throw new TraceFormatError(file, first?.location ?? '', 'at least one GPU sample line', first === undefined ? 'an empty file' : `no readable sample (${first.message})`);
  }
  if (options.onWarning) for (const warning of ctx.warnings()) options.onWarning(warning);
  // The sidecar writes in time order; a file concatenated from several runs may not be.
  return samples.sort((a, b) => a.timeMs - b.timeMs);
}
