/**
 * A model's name is any string a trace writes: `__proto__`, `constructor` or `toString` is
 * counted, reported and selected like any other (nothing keyed by model name may read what a
 * plain object inherits). Runs the installed CLI on the demo export and on TGI's router fixture
 * (TGI names no model: the router's service name stands in), renamed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as cli, ensureBuilt } from '../support/cli.js';
import { SERVING, TGI_FAILED_CANCELLED } from '../analyzer/conventions/_helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ld-model-names-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(ensureBuilt, 180_000);

const NAMES = ['__proto__', 'constructor', 'toString'] as const;

interface JsonModel {
  model: string;
  requests: number;
  failures: { server_errors: number; client_errors: number; cancelled: number } | null;
}

function models(stdout: string): JsonModel[] {
  return (JSON.parse(stdout) as { models: JsonModel[] }).models;
}

describe('a model named like a member of Object.prototype is a model like any other', { timeout: 120_000 }, () => {
  it('TGI routers: the failed and cancelled requests of a second router so named are counted under it', async () => {
    // The fixture's router (4 completed requests; 1 failed, 2 rejected, 2 cancelled), then the same
    // traces again (other trace ids) from a router whose service name is NAME. Before, the counts
    // by model were a plain object: `constructor` failed "function Object() { [native code] }5"
    // times, and `__proto__`'s failures were lost.
    type Doc = { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { traceId: string }[] }[] }[] };
    const text = readFileSync(SERVING + TGI_FAILED_CANCELLED, 'utf8');
    const files = NAMES.map((name) => {
      const doc = JSON.parse(text) as Doc;
      const copy = JSON.parse(text) as Doc;
      for (const r of copy.resourceSpans) {
        for (const a of r.resource.attributes) if (a.key === 'service.name') a.value = { stringValue: name };
        for (const ss of r.scopeSpans) for (const span of ss.spans) span.traceId = `beef${span.traceId.slice(4)}`;
      }
      const file = join(tmp, `tgi-${name}.json`);
      writeFileSync(file, JSON.stringify({ resourceSpans: [...doc.resourceSpans, ...copy.resourceSpans] }));
      return file;
    });
    const runs = await Promise.all(files.map((file) => cli('analyze', '--json', file)));
    const failures = { server_errors: 1, client_errors: 2, cancelled: 2 };
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(0);
      const byName = new Map(models(run.stdout).map((m) => [m.model, m]));
      expect([...byName.keys()].sort()).toEqual([NAMES[i], 'text-generation-inference.router'].sort());
      for (const m of byName.values()) expect({ requests: m.requests, failures: m.failures }, m.model).toEqual({ requests: 4, failures });
    });
    // Found by --model, its failures with it.
    const selected = await cli('analyze', '--json', '--model', 'constructor', files[1]!);
    expect(selected.code, selected.stderr).toBe(0);
    expect(models(selected.stdout).map((m) => [m.model, m.requests, m.failures])).toEqual([['constructor', 4, failures]]);
  });

  it('the demo export beside a model so named: each listed with its own requests, and found by --model', async () => {
    const demo = readFileSync(join(root, 'examples/traces/inference-demo.otlp.jsonl'), 'utf8');
    const runs = await Promise.all(
      NAMES.map((name) => {
        // The demo's 220 requests as `resnet50`, then the same requests (other trace ids) as NAME.
        const renamed = demo.replaceAll('"resnet50"', JSON.stringify(name)).replace(/"traceId":"[0-9a-f]{4}/g, '"traceId":"beef');
        const file = join(tmp, `demo-${name}.jsonl`);
        writeFileSync(file, demo + renamed);
        return Promise.all([cli('analyze', '--json', file), cli('analyze', '--json', '--model', name, file)]);
      }),
    );
    runs.forEach(([all, one], i) => {
      expect(all.code, all.stderr).toBe(0);
      expect(models(all.stdout).map((m) => [m.model, m.requests]).sort()).toEqual([[NAMES[i], 220], ['resnet50', 220]].sort());
      expect(one.code, one.stderr).toBe(0);
      expect(models(one.stdout).map((m) => [m.model, m.requests])).toEqual([[NAMES[i], 220]]);
    });
  });
});
