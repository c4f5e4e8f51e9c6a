/**
 * Regenerates the bundled demo traces (deterministic: same seed, same bytes):
 *   npx tsx examples/traces/generate.ts
 * Writes the same simulated run as an OTLP JSON lines export (Collector `file` exporter), a
 * Jaeger UI download and a Zipkin v2 download.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toJaegerJson, toOtlpJsonLines, toZipkinJson } from '../../test/support/synth.js';
import { simulate } from './simulate.js';

const here = dirname(fileURLToPath(import.meta.url));
const spans = simulate();
const outputs = {
  'inference-demo.otlp.jsonl': toOtlpJsonLines(spans, 64),
  'inference-demo.jaeger.json': toJaegerJson(spans) + '\n',
  'inference-demo.zipkin.json': toZipkinJson(spans) + '\n',
};
for (const [name, text] of Object.entries(outputs)) {
  writeFileSync(join(here, name), text);
  console.log(`${name}: ${spans.length} spans, ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB`);
}
