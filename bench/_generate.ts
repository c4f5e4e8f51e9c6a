/**
 * @module bench/_generate
 * The bench's generated OTLP JSON lines export: consecutive simulated runs of 1000 requests.
 * Shared by analyze.bench.ts and bench/device/gen.mts (the same file on another machine).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { toOtlpJsonLines } from '../test/support/synth.js';
import { simulate } from '../examples/traces/simulate.js';

/** What a generated file holds so far. */
export interface Generated {
  spans: number;
  requests: number;
  bytes: number;
  chunks: number;
}

/** Appends consecutive simulated runs of 1000 requests (each starting where time left off) to `path` until it holds `target` bytes. */
export async function generate(target: number, path: string, from: Generated = { spans: 0, requests: 0, bytes: 0, chunks: 0 }): Promise<Generated> {
  const out = createWriteStream(path, { flags: from.bytes === 0 ? 'w' : 'a' });
  const done = { ...from };
  const perChunk = 1000;
  while (done.bytes < target) {
    const chunk = done.chunks++;
    const run = simulate({ seed: 1000 + chunk, requests: perChunk, traceOffset: chunk * perChunk, startNs: 1_772_460_000_000_000_000n + BigInt(chunk) * 12_000_000_000n });
    const text = toOtlpJsonLines(run, 64);
    done.bytes += Buffer.byteLength(text);
    done.spans += run.length;
    done.requests += perChunk;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return done;
}
