/**
 * `latency-doctor/tracer` as a service installs it: `require` from a CommonJS service and
 * `import` from an ES module both load it and trace through the service's SDK, and its types
 * compile in tiny TypeScript consumer projects under `module: commonjs`, `node16` (a CommonJS
 * package), `nodenext` and `bundler`. Uses the built package (dist/, made by `npm run build`).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTracerBuilt } from '../support/built-tracer.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
let work = '';

beforeAll(async () => {
  // Every file under src/tracer must be in both builds.
  await ensureTracerBuilt();
  work = mkdtempSync(join(tmpdir(), 'ld-packaging-'));
}, 300_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

/** A consumer project: its own package.json, latency-doctor installed as a link to this checkout. */
function project(name: string, packageJson: object, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(root, join(dir, 'node_modules/latency-doctor'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...packageJson }));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

// The service's own SDK, registered before the tracer is used; spans must reach its exporter.
const SERVICE_CJS = `
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require(${JSON.stringify(join(root, 'node_modules/@opentelemetry/sdk-trace-base'))});
const { trace } = require(${JSON.stringify(join(root, 'node_modules/@opentelemetry/api'))});
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
const tracing = require('latency-doctor/tracer');
const tracer = tracing.createInferenceTracer({ model: 'cjs-model' });
const out = tracer.infer((req) => req.compute(() => 41) + 1);
console.log(JSON.stringify({ out, phases: tracing.PHASES.length, spans: exporter.getFinishedSpans().map((s) => s.name).sort() }));
`;

describe('loading', () => {
  it('require()s from a CommonJS service and traces through the SDK the service registered', async () => {
    const dir = project('cjs-runtime', { type: 'commonjs' }, { 'index.js': SERVICE_CJS });
    const { stdout } = await run(process.execPath, ['index.js'], { cwd: dir });
    expect(JSON.parse(stdout)).toEqual({ out: 42, phases: expect.any(Number), spans: ['compute', 'infer cjs-model'] });
  });

  it('import()s from an ES module service, and setupTracing works there', async () => {
    const dir = project('esm-runtime', { type: 'module' }, {
      'index.js': `
import { createInferenceTracer, setupTracing, PHASES } from 'latency-doctor/tracer';
const tracing = setupTracing({ exporter: { none: true }, metrics: false });
const out = await createInferenceTracer({ model: 'esm' }).infer(async (req) => req.preprocess(async () => 7));
await tracing.shutdown();
console.log(JSON.stringify({ out, compute: PHASES.includes('compute') }));
`,
    });
    const { stdout } = await run(process.execPath, ['index.js'], { cwd: dir });
    expect(JSON.parse(stdout)).toEqual({ out: 7, compute: true });
  });
});

// Uses values and types; the @ts-expect-error line fails to compile if the types resolved to `any`.
const CONSUMER_TS = `
import { createInferenceTracer, PHASES } from 'latency-doctor/tracer';
import type { InferenceRequest, Phase, TracingOptions } from 'latency-doctor/tracer';
const first: Phase = PHASES[0];
const options: TracingOptions = { exporter: { otlpEndpoint: 'http://127.0.0.1:4318', protocol: 'http/protobuf' } };
const tracer = createInferenceTracer({ model: 'typed' });
const n: number = tracer.infer((req: InferenceRequest) => req.phase(first, () => 1));
// @ts-expect-error infer returns what fn returns, a number here
const s: string = tracer.infer(() => 1);
export { n, s, options };
`;

const SETTINGS: Record<string, { packageType: 'commonjs' | 'module'; compilerOptions: Record<string, string> }> = {
  commonjs: { packageType: 'commonjs', compilerOptions: { module: 'commonjs' } },
  node16: { packageType: 'commonjs', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
  nodenext: { packageType: 'module', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
  bundler: { packageType: 'module', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
};

describe('TypeScript consumers', () => {
  it('compile under module commonjs, node16 (CommonJS package), nodenext and bundler', async () => {
    const results = await Promise.all(
      Object.entries(SETTINGS).map(async ([name, setting]) => {
        const dir = project(`ts-${name}`, { type: setting.packageType }, {
          'index.ts': CONSUMER_TS,
          'tsconfig.json': JSON.stringify({
            compilerOptions: {
              ...setting.compilerOptions,
              target: 'es2022',
              strict: true,
              noEmit: true,
              skipLibCheck: true,
              types: ['node'],
              typeRoots: [join(root, 'node_modules/@types')],
            },
            files: ['index.ts'],
          }),
        });
        try {
          await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir });
          return `${name}: ok`;
        } catch (error) {
          const { stdout } = error as { stdout?: string };
          return `${name}: ${stdout ?? String(error)}`;
        }
      }),
    );
    expect(results).toEqual(Object.keys(SETTINGS).map((name) => `${name}: ok`));
  }, 240_000);
});
