/**
 * Compressed and binary variants derived from the real fixtures (gzip via node:zlib, zstd via
 * the `zstd` CLI, OTLP protobuf via the protobufjs code generated in @opentelemetry/otlp-transformer
 * 0.52) read back to exactly the spans of their JSON source. Compression is sniffed from the
 * content, so every derived file is named `.bin`.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFile, TraceFormatError } from '../../src/formats/index.js';
import { fixture, read, tempDir } from './helpers.js';
import { toProto } from '../support/otlp-proto.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const JSONL = readFileSync(fixture('otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl'));
const JSONL_LINES = JSONL.toString('utf8').split('\n').filter((l) => l.trim() !== '');

function zstd(data: Uint8Array): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-'], { input: data });
}

function lengthPrefixed(records: Uint8Array[]): Buffer {
  return Buffer.concat(
    records.flatMap((r) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(r.length, 0);
      return [prefix, Buffer.from(r)];
    }),
  );
}

async function spansOf(file: string): Promise<string[]> {
  const { spans } = await read(file);
  return spans.map((s) => JSON.stringify(s, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
}

describe('compressed and binary inputs', () => {
  it('reads gzip (including multi-member) by magic bytes', async () => {
    const expected = await spansOf(fixture('otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl'));
    const single = tmp.write('single-gzip.bin', gzipSync(JSONL));
    const half = Math.floor(JSONL_LINES.length / 2);
    const multi = tmp.write(
      'multi-gzip.bin',
      Buffer.concat([gzipSync(JSONL_LINES.slice(0, half).join('\n') + '\n'), gzipSync(JSONL_LINES.slice(half).join('\n') + '\n')]),
    );
    expect(await spansOf(single)).toEqual(expected);
    expect(await spansOf(multi)).toEqual(expected);
    expect(await detectFile(single)).toMatchObject({ format: 'otlp-jsonl', compression: 'gzip', layout: 'json-lines' });
  });

  it('reads a gzip single document (Jaeger download)', async () => {
    const source = fixture('jaeger-json/jaeger-ui-genai-agent-trace.json');
    const file = tmp.write('jaeger-gzip.bin', gzipSync(readFileSync(source)));
    expect(await spansOf(file)).toEqual(await spansOf(source));
  });

  it('reads a native zstd stream with several frames (Collector nativeCompression)', async () => {
    const expected = await spansOf(fixture('otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl'));
    const file = tmp.write('native.bin', Buffer.concat(JSONL_LINES.map((l) => zstd(Buffer.from(l + '\n')))));
    expect(await spansOf(file)).toEqual(expected);
    expect((await detectFile(file)).compression).toBe('zstd');
  });

  it('reads the legacy [length][zstd frame] JSON records of the Collector file exporter', async () => {
    const expected = await spansOf(fixture('otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl'));
    const file = tmp.write('legacy-zstd.bin', lengthPrefixed(JSONL_LINES.map((l) => zstd(Buffer.from(l)))));
    expect(await spansOf(file)).toEqual(expected);
    expect(await detectFile(file)).toMatchObject({ compression: 'zstd-records', format: 'otlp-jsonl' });
  });

  it('reads length-prefixed OTLP protobuf records, plain and inside legacy zstd records, exactly like their JSON', async () => {
    const expected = await spansOf(fixture('otlp-jsonl/jaeger-ui-otlp2jaeger-multi-in.jsonl'));
    const records = JSONL_LINES.map(toProto);
    const plain = tmp.write('proto-records.bin', lengthPrefixed(records));
    const zstdRecords = tmp.write('proto-zstd-records.bin', lengthPrefixed(records.map((r) => zstd(r))));
    expect(await spansOf(plain)).toEqual(expected);
    expect(await spansOf(zstdRecords)).toEqual(expected);
    expect(await detectFile(plain)).toMatchObject({ format: 'otlp-proto', layout: 'protobuf-records' });
  });

  it('reads a bare TracesData protobuf message with kinds, links, typed attributes and exact nanoseconds', async () => {
    const source = fixture('otlp-json/jaeger-memstore-otel_traces_01.json');
    const file = tmp.write('message.binpb', toProto(readFileSync(source, 'utf8')));
    expect(await spansOf(file)).toEqual(await spansOf(source));
    expect((await detectFile(file)).layout).toBe('protobuf-message');
  });

  it('reports a truncated gzip file with its byte offset', async () => {
    const whole = gzipSync(readFileSync(fixture('zipkin-json/zipkin-lens-smartthings-mobile-web-install.json')));
    const file = tmp.write('truncated-gzip.bin', whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await read(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as Error).message).toMatch(/^.*truncated-gzip\.bin:byte \d+: expected a complete gzip stream, got end of file \(truncated\?\)$/);
  });

  it('reports a truncated zstd file', async () => {
    const whole = zstd(readFileSync(fixture('zipkin-json/zipkin-lens-smartthings-mobile-web-install.json')));
    const file = tmp.write('truncated-zstd.bin', whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await read(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as Error).message).toMatch(/truncated-zstd\.bin:(byte \d+|\d+:\d+): expected /);
    expect((error as Error).message).not.toMatch(/\n/);
  });

  it('reports a truncated protobuf record as skipped, keeping the complete ones', async () => {
    const records = JSONL_LINES.map(toProto);
    const whole = lengthPrefixed(records);
    const file = tmp.write('truncated-proto.bin', whole.subarray(0, whole.length - 5));
    const { spans, warnings } = await read(file);
    expect(spans).toHaveLength(JSONL_LINES.length - 1);
    expect(warnings[0]?.message).toMatch(/1 record skipped: expected a complete length-prefixed protobuf record/);
    await expect(read(file, { strict: true })).rejects.toThrow(/truncated-proto\.bin:byte \d+: expected a complete length-prefixed protobuf record/);
  });
});
