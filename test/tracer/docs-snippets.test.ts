/**
 * The code in docs/tracer.md runs as written: the express example answers a JSON client and a
 * binary client (and writes their traces), the CommonJS example loads the package with
 * `require`, and the existing-SDK example records through the service's own NodeSDK. Each
 * snippet runs in a consumer project that has latency-doctor installed as a link to this
 * checkout (dist/, made by `npm run build`).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const doc = readFileSync(join(root, 'docs/tracer.md'), 'utf8');
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const work = mkdtempSync(join(tmpdir(), 'ld-doc-snippets-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The fenced block that follows `<!-- snippet: name ... -->` in docs/tracer.md. */
function snippet(name: string): string {
  const match = new RegExp(`<!-- snippet: ${name}\\b[^>]*-->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (match === null) throw new Error(`docs/tracer.md has no snippet "${name}"`);
  return match[1]!;
}

/** A consumer project with latency-doctor, express and OpenTelemetry linked in. */
function project(name: string, packageType: 'module' | 'commonjs'): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(root, join(dir, 'node_modules/latency-doctor'), 'dir');
  for (const dep of ['express', '@opentelemetry']) symlinkSync(join(root, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: packageType }));
  return dir;
}

/** The environment of a child without any OTEL_* setting of the test runner. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key];
  return env;
}

describe('docs/tracer.md', () => {
  it('runs the express example: a JSON client and a binary client both get their answer, and both are traced', async () => {
    const dir = project('express-example', 'module');
    const example = snippet('express');
    const listen = 'app.listen(8080);';
    expect(example).toContain(listen);
    // The service's own parts, which the docs leave to the reader, and a client that calls it.
    const prelude = `
const normalize = (x: Float32Array): Float32Array => x.map((v) => v / 255);
const session = { run: async (x: Float32Array): Promise<Float32Array> => x.map((v, i) => v * (i + 1)) };
const top5 = (x: Float32Array): number[] => [...x].map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5).map(([, i]) => i);
`;
    const client = `
await new Promise((resolve) => server.once('listening', resolve));
const base = \`http://127.0.0.1:\${(server.address() as import('node:net').AddressInfo).port}/predict\`;
const json = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: [10, 20, 30, 40, 50, 60] }) });
const bytes = new Float32Array([1, 5, 2, 8, 3, 7]);
const binary = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(bytes.buffer) });
console.log(JSON.stringify({ json: [json.status, await json.json()], binary: [binary.status, await binary.json()] }));
server.close();
await tracing.shutdown();
`;
    const program = [prelude, example.replace(listen, "const server = app.listen(0, '127.0.0.1');"), snippet('decode'), client].join('\n');
    writeFileSync(join(dir, 'server.ts'), program);
    const { stdout } = await run(process.execPath, ['--import', tsx, 'server.ts'], { cwd: dir, env: cleanEnv() });
    const answers = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, [number, number[]]>;
    expect(answers['json']).toEqual([200, [5, 4, 3, 2, 1]]);
    expect(answers['binary']).toEqual([200, [5, 3, 4, 1, 2]]);
    // The default exporter wrote both requests to ./traces.jsonl.
    const spans = readFileSync(join(dir, 'traces.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .flatMap((line) => (JSON.parse(line) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }).resourceSpans)
      .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)));
    expect(spans.filter((n) => n === 'infer resnet50')).toHaveLength(2);
    for (const phase of ['preprocess', 'compute', 'postprocess']) expect(spans.filter((n) => n === phase), phase).toHaveLength(2);
    expect(spans.filter((n) => n === 'serialize')).toHaveLength(4);
  }, 120_000);

  it('runs the CommonJS example with require()', async () => {
    const dir = project('commonjs-example', 'commonjs');
    writeFileSync(join(dir, 'service.js'), snippet('commonjs'));
    const { stdout } = await run(process.execPath, ['service.js'], { cwd: dir, env: cleanEnv() });
    expect(stdout.trim()).toBe('answer 42');
    expect(readFileSync(join(dir, 'traces.jsonl'), 'utf8')).toContain('"name":"infer resnet50"');
  }, 60_000);

  it('runs the existing-SDK example: spans go through the service’s own NodeSDK', async () => {
    const dir = project('existing-sdk-example', 'module');
    writeFileSync(join(dir, 'service.ts'), snippet('existing-sdk'));
    const child = spawn(process.execPath, ['--import', tsx, 'service.ts'], { cwd: dir, env: cleanEnv() });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(code).toBe(0);
    // ConsoleSpanExporter prints each span it gets.
    expect(out).toContain("name: 'infer resnet50'");
    expect(out).toContain("name: 'compute'");
  }, 60_000);
});
