/**
 * @module bench/_generate
 * The bench's generated OTLP JSON lines export: consecutive simulated runs of 1000 requests.
 * Shared by analyze.bench.ts and bench/device/gen.mts (the same file on another machine). And
 * its Jaeger document, with or without logs; and the same export as one OTLP document.
 */
import { closeSync, createWriteStream, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { toJaegerJson, toOtlpJsonLines } from '../test/support/synth.js';
import type { SynthSpan } from '../test/support/synth.js';
import { simulate } from '../examples/traces/simulate.js';

/** What a generated file holds so far. */
export interface Generated {
  spans: number;
  requests: number;
  bytes: number;
  chunks: number;
}

/** Spans a generated line holds unless asked: the file every pass of issue 16 measured (25 KB lines). */
export const LINE_SPANS = 64;

/**
 * Appends consecutive simulated runs of 1000 requests (each starting where time left off) to `path` until it holds `target` bytes,
 * `lineSpans` spans a line (at most a run's, ~9,000: a line never spans two runs).
 * `document`: the same runs written as one OTLP document on one line instead (every line's
 * resourceSpans in one list, as a merged export or Jaeger's API v3 gives them), from scratch.
 */
export async function generate(target: number, path: string, from: Generated = { spans: 0, requests: 0, bytes: 0, chunks: 0 }, document = false, lineSpans = LINE_SPANS): Promise<Generated> {
  const out = createWriteStream(path, { flags: from.bytes === 0 ? 'w' : 'a' });
  const done = { ...from };
  const perChunk = 1000;
  const write = async (text: string): Promise<void> => {
    done.bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  if (document) await write('{"resourceSpans":[');
  while (done.bytes < target) {
    const chunk = done.chunks++;
    const run = simulate({ seed: 1000 + chunk, requests: perChunk, traceOffset: chunk * perChunk, startNs: 1_772_460_000_000_000_000n + BigInt(chunk) * 12_000_000_000n });
    const text = toOtlpJsonLines(run, lineSpans);
    done.spans += run.length;
    done.requests += perChunk;
    // A line is {"resourceSpans":[…]}: its list's elements joined on.
    await write(!document ? text : `${chunk === 0 ? '' : ','}${text.trim().split('\n').map((line) => line.slice('{"resourceSpans":['.length, -2)).join(',')}`);
  }
  if (document) await write(']}\n');
  out.end();
  await once(out, 'finish');
  return done;
}

/** Free-text log messages no convention reads (an HTTP access line, a cache lookup, a gRPC message). */
const LOG_MESSAGES = ['POST /v1/models/resnet50:predict 200', 'prediction cache lookup: miss', 'grpc message sent'];
/** What a failed span logs: free text, as TGI's router logs a validation error. */
const ERROR_MESSAGE = 'Input validation error: `inputs` tokens + `max_new_tokens` must be <= 512. Given: 500 `inputs` tokens and 20 `max_new_tokens`';

/**
 * Simulated runs written as one Jaeger UI document of about `target` bytes at `path`. With
 * `logsPerSpan`, every span carries that many logs of names no convention reads, and one span in
 * 50 is marked failed (the `error` tag) with its error message logged too: the events the
 * analyzer's filter keeps (an error span's) and leaves (every other). Written a run at a time (its
 * traces' part of the `data` array), so a document past what one string can hold is written too;
 * `from` (what an earlier call wrote to `path`) grows that document instead: its `]}` is cut and
 * more runs follow.
 */
export function generateJaeger(target: number, path: string, logsPerSpan = 0, from: Generated = { spans: 0, requests: 0, bytes: 0, chunks: 0 }): Generated {
  const done = { ...from };
  const fd = openSync(path, from.bytes === 0 ? 'w' : 'r+');
  try {
    let at = from.bytes === 0 ? 0 : fstatSync(fd).size - 2;
    const write = (text: string): void => {
      at += writeSync(fd, text, at);
    };
    if (from.bytes === 0) write('{"data":[');
    const perChunk = 1000;
    while (done.bytes < target) {
      const chunk = done.chunks++;
      const run = simulate({ seed: 5000 + chunk, requests: perChunk, traceOffset: chunk * perChunk, startNs: 1_772_460_000_000_000_000n + BigInt(chunk) * 12_000_000_000n });
      const withLogs = logsPerSpan === 0 ? run : run.map((span, i) => withEvents(span, logsPerSpan, (done.spans + i) % 50 === 49));
      // One run's document is `{"data":[…]}`: its traces go on the whole document's array.
      const doc = toJaegerJson(withLogs);
      done.bytes += Buffer.byteLength(doc);
      write(`${chunk === 0 ? '' : ','}${doc.slice('{"data":['.length, -']}'.length)}`);
      done.spans += withLogs.length;
      done.requests += perChunk;
    }
    write(']}');
    ftruncateSync(fd, at);
  } finally {
    closeSync(fd);
  }
  return done;
}

/** `span` with `n` logs spread over it, failed (and its message logged) when `failed`. */
function withEvents(span: SynthSpan, n: number, failed: boolean): SynthSpan {
  const step = (span.endNs - span.startNs) / BigInt(n + 1);
  const events = Array.from({ length: n }, (_, k) => ({ name: LOG_MESSAGES[k % LOG_MESSAGES.length]!, timeNs: span.startNs + step * BigInt(k + 1) }));
  if (failed) events.push({ name: ERROR_MESSAGE, timeNs: span.endNs });
  return { ...span, events: [...(span.events ?? []), ...events], ...(failed ? { error: true } : {}) };
}
