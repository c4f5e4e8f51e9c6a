/**
 * Bad input never gives a stack trace: a file that is not a readable trace export throws one
 * TraceFormatError whose message is one line naming the file, the place and what was expected;
 * a partly broken file yields what parses and reports counted warnings (strict mode throws).
 */

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFile, TraceFormatError } from '../../src/formats/index.js';
import { GPU_SAMPLE_SCHEMA } from '../../src/semconv.js';
import { ids, toOtlpJson, toOtlpJsonLines, toZipkinJson } from '../support/synth.js';
import type { SynthSpan } from '../support/synth.js';
import { toProto } from '../support/otlp-proto.js';
import { fixture, read, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function failure(file: string, strict = false): Promise<TraceFormatError> {
  const error = await read(file, { strict }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TraceFormatError);
  const message = (error as TraceFormatError).message;
  expect(message).not.toMatch(/\n/);
  expect(message.startsWith(file)).toBe(true);
  return error as TraceFormatError;
}

const id = ids(42);
function spans(n: number, overrides: Partial<SynthSpan> = {}): SynthSpan[] {
  return Array.from({ length: n }, (_, i) => ({
    traceId: id.traceId(i),
    spanId: id.spanId(i),
    name: `op${i}`,
    service: 'svc',
    kind: 'server' as const,
    startNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n,
    endNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n + 500_000n,
    attributes: {},
    ...overrides,
  }));
}

describe('files that are not readable trace exports', () => {
  it('an empty file', async () => {
    const error = await failure(tmp.write('empty.json', ''));
    expect(error.message).toMatch(/empty\.json: expected a trace export, got an empty file$/);
  });

  it('a compressed file with nothing inside says so, not "an empty file" (it has bytes)', async () => {
    expect((await failure(tmp.write('empty.jsonl.gz', gzipSync(Buffer.alloc(0))))).message).toMatch(/expected a trace export, got a gzip file with no content$/);
    expect((await failure(tmp.write('empty.jsonl.zst', execFileSync('zstd', ['-q', '-c'], { input: Buffer.alloc(0) })))).message).toMatch(/expected a trace export, got a zstd file with no content$/);
  });

  it('a file compressed twice (a .jsonl.gz zstd-compressed again) says so, with the step to take', async () => {
    const demo = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url));
    const file = tmp.write('demo.jsonl.gz.zst', execFileSync('zstd', ['-q', '-c'], { input: gzipSync(demo) }));
    expect((await failure(file)).message).toBe(`${file}:byte 0: expected a trace export (JSON starting with '{' or '[', gzip, zstd or OTLP protobuf), got gzip-compressed data inside the zstd stream (compressed twice: decompress it once first, e.g. zstd -d)`);
  });

  it('an archive (a support bundle as tar, tar.gz or zip) is named as such, with the step to take', async () => {
    const dir = join(tmp.dir, 'bundle');
    mkdirSync(dir);
    copyFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), join(dir, 'traces.jsonl'));
    const tar = join(tmp.dir, 'bundle.tar');
    execFileSync('tar', ['-cf', tar, '-C', dir, 'traces.jsonl']);
    const tgz = tmp.write('bundle.tar.gz', gzipSync(readFileSync(tar)));
    for (const file of [tar, tgz]) expect((await failure(file)).message).toMatch(/, got a tar archive \(extract it first, e\.g\. tar -xf, and give the files inside\)$/);
    // A zip's local file header (PK\x03\x04), as `zip` writes it.
    const zip = tmp.write('bundle.zip', Buffer.concat([Buffer.from('504b0304140000000800', 'hex'), Buffer.alloc(64, 1)]));
    expect((await failure(zip)).message).toMatch(/, got a zip archive \(extract it first, e\.g\. unzip, and give the files inside\)$/);
  });

  it('a real export in UTF-16 (Windows PowerShell 5 redirected it) or bzip2/xz-compressed is named as such, with the step to take, not "binary data"', async () => {
    const demo = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), 'utf8');
    const expected = "byte 0: expected a trace export (JSON in UTF-8 starting with '{' or '[', gzip, zstd or OTLP protobuf), got ";
    // PowerShell's `>`: UTF-16LE with its byte order mark.
    const le = tmp.write('ps-redirect.jsonl', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(demo, 'utf16le')]));
    expect((await failure(le)).message).toBe(`${le}:${expected}UTF-16LE text (convert it to UTF-8 first, e.g. iconv -f UTF-16LE -t UTF-8; Windows PowerShell 5's > writes UTF-16: pipe through Out-File -Encoding utf8 instead)`);
    // Without a byte order mark, either byte order (it was a JSON syntax error at \x00, or binary data); also gzip-compressed.
    const sglang = readFileSync('test/fixtures/serving/sglang-trace-level-unified.synthetic.json', 'utf8');
    const bare = tmp.write('sglang-utf16le.json', Buffer.from(sglang, 'utf16le'));
    const big = tmp.write('sglang-utf16be.json', Buffer.from(sglang, 'utf16le').swap16());
    const zipped = tmp.write('sglang-utf16le.json.gz', gzipSync(Buffer.from(sglang, 'utf16le')));
    expect((await failure(bare)).message).toMatch(/:byte 0: .*, got UTF-16LE text \(convert it to UTF-8 first, e\.g\. iconv -f UTF-16LE -t UTF-8;/);
    expect((await failure(big)).message).toMatch(/:byte 0: .*, got UTF-16BE text \(convert it to UTF-8 first, e\.g\. iconv -f UTF-16BE -t UTF-8;/);
    expect((await failure(zipped)).message).toMatch(/, got UTF-16LE text /);
    const bz2 = tmp.write('demo.jsonl.bz2', execFileSync('bzip2', ['-c'], { input: demo }));
    expect((await failure(bz2)).message).toBe(`${bz2}:${expected}a bzip2-compressed file, which is not read (decompress it first, e.g. bunzip2, or compress with gzip or zstd)`);
    const xz = tmp.write('demo.jsonl.xz', execFileSync('xz', ['-c'], { input: demo }));
    expect((await failure(xz)).message).toBe(`${xz}:${expected}an xz-compressed file, which is not read (decompress it first, e.g. unxz, or compress with gzip or zstd)`);
  });

  it('a file with only whitespace', async () => {
    expect((await failure(tmp.write('blank.json', ' \n\n  \n'))).message).toMatch(/only whitespace/);
  });

  it('a missing file and a directory', async () => {
    expect((await failure(tmp.dir + '/nope.json')).message).toMatch(/nope\.json: expected a readable trace file, got no such file$/);
    expect((await failure(tmp.dir)).message).toMatch(/expected a readable trace file|expected a regular file/);
  });

  it('a text file that is not JSON, with line and column', async () => {
    const error = await failure(tmp.write('notes.txt', '\n\n  hello, this is a log file\n'));
    expect(error.location).toBe('3:3');
    expect(error.message).toMatch(/notes\.txt:3:3: expected a trace export \(JSON starting with '\{' or '\[', gzip, zstd or OTLP protobuf\), got "hello, this is a log fil…"$/);
  });

  it("a server's saved /metrics scrape (real captures: Triton, vLLM, TGI, TorchServe) is named as such, with --prometheus as the way to read it", async () => {
    const captures = ['triton_metrics_datadog_fixture.prom', 'vllm_v1_metrics_docs_design_excerpt.prom', 'tgi_metrics_datadog_fixture_excerpt.prom', 'torchserve_metrics_prometheus_mode.prom'];
    for (const name of captures) {
      const error = await failure(join('test/fixtures/serving', name));
      expect(error.location).toBe('1:1');
      expect(error.message).toMatch(/, got a Prometheus \/metrics scrape \("# HELP .*…"\): .*with --prometheus URL \(docs\/prometheus\.md\)$/);
    }
    // A scrape saved without its HELP/TYPE lines starts with a sample.
    const samples = tmp.write('samples.prom', 'nv_inference_request_success{model="densenet_onnx",version="1"} 3\n');
    expect((await failure(samples)).message).toMatch(/, got a Prometheus \/metrics scrape/);
    // Comment-like text is not taken for one.
    expect((await failure(tmp.write('readme.txt', '# Notes\n'))).message).not.toMatch(/Prometheus/);
  });

  it('JSON of no known trace format', async () => {
    const error = await failure(tmp.write('package.json', JSON.stringify({ name: 'x', version: '1.0.0' }, null, 2)));
    expect(error.message).toMatch(/package\.json: expected a trace export \(OTLP resourceSpans, .*\), got an object with keys \{name, version\}$/);
  });

  it('truncated JSON: line, column and "truncated?"', async () => {
    const text = readFileSync(fixture('otlp-json/jaeger-memstore-otel_traces_01.json'), 'utf8');
    const cut = text.slice(0, 1000);
    const error = await failure(tmp.write('cut.json', cut));
    const lines = cut.split('\n');
    expect(error.location).toBe(`${lines.length}:${(lines.at(-1) ?? '').length + 1}`);
    expect(error.message).toMatch(/cut\.json:\d+:\d+: expected .*, got end of file \(truncated\?\)$/);
  });

  it('a truncated single-line (minified) document', async () => {
    const text = JSON.stringify(JSON.parse(readFileSync(fixture('zipkin-json/zipkin-lens-skew.json'), 'utf8')));
    const error = await failure(tmp.write('minified.json', text.slice(0, 300)));
    expect(error.message).toMatch(/minified\.json:1:\d+: expected a JSON document on the first line, got end of file \(truncated\?\)$/);
    await expect(detectFile(tmp.dir + '/minified.json')).rejects.toThrow(/minified\.json:1:\d+: expected a JSON document on the first line, got end of file \(truncated\?\)$/);
  });

  it('a JSON syntax error in the middle of a document', async () => {
    const error = await failure(tmp.write('syntax.json', '{\n  "resourceSpans": [\n    {"resource": {}},,\n  ]\n}\n'));
    expect(error.message).toMatch(/syntax\.json:3:22: expected ',' or '\]' after an array element, got ','|syntax\.json:3:22: expected a JSON value, got ','/);
  });

  it('wrong types at the top of an OTLP document, with the JSON path', async () => {
    const error = await failure(tmp.write('wrong-type.json', JSON.stringify({ resourceSpans: 'all of them' })));
    expect(error.message).toMatch(/wrong-type\.json:1: \$\.resourceSpans: expected an array of ResourceSpans, got a string "all of them"$/);
  });

  it('Zipkin v1 JSON is reported as unsupported, with the fix', async () => {
    const v1 = [{ traceId: '1e223ff1f80f1c69', id: '1e223ff1f80f1c69', name: 'get', annotations: [{ timestamp: 1, value: 'sr', endpoint: { serviceName: 'a' } }], binaryAnnotations: [] }];
    const error = await failure(tmp.write('zipkin-v1.json', JSON.stringify(v1)));
    expect(error.message).toMatch(/expected Zipkin v2 JSON, got Zipkin v1 JSON .*\/api\/v2\/trace/);
  });

  it('varint-delimited protobuf (writeDelimitedTo) is refused by name, with the layout to write instead', async () => {
    const demo = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), 'utf8').split('\n');
    const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
    const messages = demo.slice(0, 2).map((line) => toProto(line));
    const file = tmp.write('delimited.bin', Buffer.concat(messages.flatMap((m) => [Buffer.from(varint(m.length)), Buffer.from(m)])));
    expect((await failure(file)).message).toBe(
      `${file}:byte 0: expected a trace export (JSON starting with '{' or '[', gzip, zstd or OTLP protobuf), got varint-delimited protobuf messages (writeDelimitedTo), which are not read: write [4-byte big-endian length][TracesData] records (the Collector file exporter's format: proto) or one bare TracesData message`,
    );
  });

  it('a GPU sample file is detected as such and refused by readSpans', async () => {
    const file = tmp.write('samples.jsonl', JSON.stringify({ schema: GPU_SAMPLE_SCHEMA, timeMs: 1, gpus: [] }) + '\n');
    expect((await detectFile(file)).format).toBe('gpu-samples');
    expect((await failure(file)).message).toMatch(/expected a trace export, got a GPU sample file/);
  });

  it("latency-doctor's own files that are not traces say what they are: a newer sidecar's samples, an --json report", async () => {
    // The sidecar's real sample file as a later schema version would write it.
    const samples = readFileSync(new URL('../fixtures/nvidia-smi/samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl', import.meta.url), 'utf8');
    const newer = tmp.write('samples-v2.jsonl', samples.replaceAll(GPU_SAMPLE_SCHEMA, 'latency-doctor/gpu-sample@2'));
    const error = await detectFile(newer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as Error).message).toBe(`${newer}:1: expected a trace export or a GPU sample file of schema "${GPU_SAMPLE_SCHEMA}", got a GPU sample file of schema "latency-doctor/gpu-sample@2" (written by another latency-doctor version)`);
    // What `analyze --json` printed, given back to analyze instead of the traces it came from.
    const report = tmp.write('report.json', JSON.stringify({ schema: 'latency-doctor/analysis@1', files: [{ file: 'traces.jsonl', format: 'otlp-jsonl', spans: 1980, skipped: 0 }], spans: 1980 }, null, 2));
    expect((await failure(report)).message).toBe(`${report}: expected a trace export (OTLP resourceSpans, Jaeger data/traceID+spans, Zipkin v2 traceId+id, Python console spans, Triton trace records), got latency-doctor's own output (schema "latency-doctor/analysis@1"), not a trace: give the trace files it was made from`);
  });
});

describe('partly broken files', () => {
  it('garbage and truncated lines in JSON lines are skipped and counted; strict mode fails on the first', async () => {
    const lines = toOtlpJsonLines(spans(30), 10).trimEnd().split('\n');
    const content = [lines[0], 'INFO exporter: flushed 10 spans', lines[1], '', lines[2]?.slice(0, 200)].join('\n');
    const file = tmp.write('broken.jsonl', content);
    const { spans: got, stats, warnings } = await read(file);
    expect(got).toHaveLength(20);
    expect(stats.format).toBe('otlp-jsonl');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ count: 2, location: '2:1' });
    expect(warnings[0]?.message).toMatch(/^2 lines skipped: expected a JSON document on every line \(first: got 'I'\)$/);
    const error = await failure(file, true);
    expect(error.message).toMatch(/broken\.jsonl:2:1: expected a JSON document on every line, got 'I'$/);
  });

  it('a control character where the syntax broke is named as \\xNN, as the CLI shows one, so the message holds none', async () => {
    const lines = toOtlpJsonLines(spans(4), 2).trimEnd().split('\n');
    const file = tmp.write('control.jsonl', [lines[0], '{"a":"x\ry"}', '{"b":"\u0001"}', lines[1]].join('\n'));
    const error = await failure(file, true);
    expect(error.message).toMatch(/control\.jsonl:2:8: expected a JSON document on every line, got '\\x0d'$/);
    const { warnings } = await read(file);
    expect(warnings[0]?.message).toMatch(/^2 lines skipped: .*\(first: got '\\x0d'\)$/);
    for (const text of [error.message, ...warnings.map((w) => w.message)]) expect(text).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it('a truncated last line says so', async () => {
    const lines = toOtlpJsonLines(spans(4), 2);
    const file = tmp.write('live.jsonl', lines.slice(0, lines.length - 30));
    const error = await failure(file, true);
    expect(error.message).toMatch(/live\.jsonl:2:\d+: expected a JSON document on every line, got end of line \(truncated\?\)$/);
  });

  it('spans that end before they start are skipped with a warning', async () => {
    const list = spans(5);
    const bad = list[2] as SynthSpan;
    list[2] = { ...bad, endNs: bad.startNs - 1n };
    const file = tmp.write('backwards.jsonl', toOtlpJsonLines(list, 5) + toOtlpJsonLines(spans(1), 1));
    const { spans: got, stats, warnings } = await read(file);
    expect(got).toHaveLength(5);
    expect(stats.skipped).toBe(1);
    expect(warnings[0]?.location).toBe('1: $.resourceSpans[0].scopeSpans[0].spans[2]');
    expect(warnings[0]?.message).toMatch(/^1 span skipped: expected an end time at or after the start time/);
    expect((await failure(file, true)).message).toMatch(/backwards\.jsonl:1: \$\.resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[2\]: expected an end time at or after the start time, got start/);
  });

  it('wrong field types inside spans skip those spans only', async () => {
    const doc = JSON.parse(toOtlpJsonLines(spans(3), 3)) as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
    const list = doc.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    (list[0] as Record<string, unknown>)['startTimeUnixNano'] = { nanos: 5 };
    (list[1] as Record<string, unknown>)['spanId'] = 12345;
    const { spans: got, warnings } = await read(tmp.write('types.json', JSON.stringify(doc)));
    expect(got).toHaveLength(1);
    expect(warnings.map((w) => w.message).sort()).toEqual([
      '1 span skipped: expected a span id (8 bytes, hex or base64) (first: got the number 12345)',
      '1 span skipped: expected start and end times (int64 ns since epoch) (first: got start an object with keys {nanos}, end a string "1700000000000500000")',
    ]);
  });

  it('a line of the wrong shape in JSON lines is skipped', async () => {
    const content = toOtlpJsonLines(spans(2), 1) + JSON.stringify({ resourceSpans: 7 }) + '\n';
    const { spans: got, warnings } = await read(tmp.write('shape.jsonl', content));
    expect(got).toHaveLength(2);
    expect(warnings[0]?.message).toMatch(/^1 line skipped: expected an array of ResourceSpans \(first: got the number 7\)$/);
    expect(warnings[0]?.location).toBe('3: $.resourceSpans');
  });

  it('a skip count past 999 has thousands separators, as the report writes counts (1,200 spans, not 1200)', async () => {
    const file = tmp.write('many-skipped.jsonl', toOtlpJsonLines(spans(1200, { startNs: 2n, endNs: 1n })));
    const { warnings } = await read(file);
    expect(warnings[0]?.count).toBe(1200);
    expect(warnings[0]?.message).toMatch(/^1,200 spans skipped: /);
  });

  it('duplicate span ids inside a document are kept (the assembler counts them once) and reported, also in strict mode', async () => {
    const list = spans(3);
    const file = tmp.write('dupes.json', toOtlpJson([...list, ...list.slice(0, 2)]));
    const { spans: got, warnings } = await read(file, { strict: true });
    expect(got).toHaveLength(5);
    expect(warnings).toEqual([{ file, location: '1', message: '2× duplicate span id (same trace, span id and kind as an earlier span; counted once)', count: 2 }]);
  });

  it("Zipkin server halves that share their client's id without `shared: true` are not reported as duplicates (the assembler keeps both halves)", async () => {
    // The demo's Zipkin export with each server span joined to its client span's id, as a
    // tracer that does not set `shared` writes it.
    const doc = JSON.parse(readFileSync(new URL('../../examples/traces/inference-demo.zipkin.json', import.meta.url), 'utf8')) as Record<string, unknown>[];
    const clients = new Map(doc.filter((z) => z['kind'] === 'CLIENT').map((z) => [z['traceId'], z]));
    const renamed = new Map<unknown, unknown>();
    for (const z of doc) {
      const client = z['kind'] === 'SERVER' ? clients.get(z['traceId']) : undefined;
      if (client === undefined) continue;
      renamed.set(z['id'], client['id']);
      z['id'] = client['id'];
      z['parentId'] = client['parentId'];
    }
    for (const z of doc) if (z['kind'] !== 'SERVER' && renamed.has(z['parentId'])) z['parentId'] = renamed.get(z['parentId']);
    for (const reader of ['fast', 'full'] as const) {
      const { spans: got, warnings } = await read(tmp.write('zipkin-joined-unshared.json', JSON.stringify(doc)), { reader });
      expect(got).toHaveLength(doc.length);
      expect(warnings).toEqual([]);
    }
  });

  it('OTLP times written as JSON numbers above 2^53 ns are read as the nearest double, with a warning saying so, not silently', async () => {
    // The demo's first export line with its int64 times as numbers, as some hand-rolled exporters write them.
    const line = readFileSync(new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url), 'utf8').split('\n')[0]!;
    const numbers = line.replace(/"(start|end)TimeUnixNano":"(\d+)"/g, '"$1TimeUnixNano":$2');
    const times = (numbers.match(/TimeUnixNano":\d/g) ?? []).length;
    expect(times).toBeGreaterThan(100);
    const message = `${times}× span time written as a JSON number above 2^53 ns, read as the nearest double (up to 128 ns off; OTLP/JSON writes int64 times as strings)`;
    for (const [name, text] of [['numbers.jsonl', `${numbers}\n${numbers}\n`], ['numbers.json', numbers]] as const) {
      const file = tmp.write(name, text);
      for (const reader of ['fast', 'full'] as const) {
        const { warnings } = await read(file, { reader, strict: true });
        expect(warnings, `${name} ${reader}`).toEqual([{ file, message: name.endsWith('l') ? message.replace(`${times}×`, `${2 * times}×`) : message, count: name.endsWith('l') ? 2 * times : times }]);
      }
    }
    // Written as strings (the OTLP/JSON mapping), the same times are exact and nothing is said.
    expect((await read(tmp.write('strings.jsonl', `${line}\n${line}\n`))).warnings).toEqual([]);
  });

  it("Python console output cut short (a killed process's stdout) is read up to its last whole span, the cut one a skipped record", async () => {
    const whole = readFileSync(fixture('python-console/otelio-python-console-span-concatenated.json'), 'utf8');
    const file = tmp.write('python-console-cut.json', whole.slice(0, whole.length - 200));
    const { spans: got, warnings } = await read(file);
    expect(got).toHaveLength(1);
    expect(warnings).toEqual([{ file, location: '64:33', message: "1 record skipped: expected ':' after the property name (first: got end of file (truncated?))", count: 1 }]);
    expect((await failure(file, true)).message).toBe(`${file}:64:33: expected ':' after the property name, got end of file (truncated?)`);
    // Cut inside its first span, nothing is left to read: the error it was.
    expect((await failure(tmp.write('python-console-cut-first.json', whole.slice(0, 300)))).message).toMatch(/got end of file \(truncated\?\)$/);
  });

  it("Ray's prefixed console output where one process's span is cut short (that replica killed): the other's is read, the cut one a skipped record", async () => {
    const lines = readFileSync(new URL('../fixtures/serving/ray-serve-console-spans.synthetic.log', import.meta.url), 'utf8').split('\n');
    const replica = lines.map((l, i) => (l.includes('pid=5702') ? i : -1)).filter((i) => i >= 0);
    const kept = lines.filter((_, i) => !replica.slice(-5).includes(i));
    const file = tmp.write('ray-replica-cut.log', kept.join('\n'));
    const { spans: got, warnings } = await read(file);
    expect(got).toHaveLength(1);
    expect(warnings).toEqual([
      { file, location: 'ServeReplica:default:LLMServer pid=5702, ip=10.0.3.17', message: "1 record skipped: expected a whole span in this process's output (first: got end of its output (cut short?))", count: 1 },
    ]);
    await expect(read(file, { strict: true })).rejects.toThrow(TraceFormatError);
  });

  it('Zipkin spans without duration are skipped as incomplete, with counts', async () => {
    const doc = JSON.parse(toZipkinJson(spans(4))) as Record<string, unknown>[];
    delete doc[1]?.['duration'];
    delete doc[3]?.['duration'];
    const { spans: got, stats, warnings } = await read(tmp.write('incomplete.json', JSON.stringify(doc)));
    expect(got).toHaveLength(2);
    expect(stats.skipped).toBe(2);
    expect(warnings[0]).toMatchObject({ count: 2, location: '1: $[1]' });
  });

  it('Jaeger spans whose processID names no process of their trace are kept, with a warning saying their service is unknown', async () => {
    // The real petclinic download with process p2 (customers-service, 15 of its 17 spans) cut out
    // of `processes`, as a hand-trimmed or re-serialised export leaves it.
    const doc = JSON.parse(readFileSync(fixture('jaeger-json/jaeger-ui-petclinic-31char-traceid.json'), 'utf8')) as { spans: { processID: string }[]; processes: Record<string, unknown> };
    delete doc.processes['p2'];
    const first = doc.spans.findIndex((s) => s.processID === 'p2');
    const file = tmp.write('jaeger-missing-process.json', JSON.stringify(doc));
    for (const reader of ['fast', 'full'] as const) {
      const { spans: got, warnings } = await read(file, { reader, strict: true });
      expect(got).toHaveLength(17);
      expect(got.filter((s) => s.service === '')).toHaveLength(15);
      expect(warnings).toEqual([{ file, location: `1: $.spans[${first}]`, message: "15× span whose processID is not among its trace's processes (service unknown)", count: 15 }]);
    }
  });

  it('a UTF-8 BOM and CRLF line endings are accepted in JSON lines and documents', async () => {
    const lines = toOtlpJsonLines(spans(6), 2).trimEnd().split('\n');
    const jsonl = tmp.write('windows.jsonl', '\uFEFF' + lines.join('\r\n') + '\r\n');
    const doc = tmp.write('windows.json', '\uFEFF' + JSON.stringify(JSON.parse(toZipkinJson(spans(3))), null, 2).replace(/\n/g, '\r\n'));
    expect((await read(jsonl)).spans).toHaveLength(6);
    expect((await read(jsonl)).warnings).toEqual([]);
    expect((await read(doc)).spans).toHaveLength(3);
  });
});
