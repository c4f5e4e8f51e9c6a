/**
 * A file past the open-file window is opened again by its name when the merge comes to it
 * (analyzer/files.ts): if the Collector rotated it in between (renamed it and started a new one,
 * or truncated it), the name holds other spans, which are read as they are now, with a warning,
 * not unsaid. The check itself is tested here: racing a real run's detection and reading is not
 * deterministic.
 */
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileIdentity, readAgain } from '../../src/analyzer/_reopen.js';
import { readSpans } from '../../src/formats/index.js';
import type { ReadStats } from '../../src/formats/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'ld-reopen-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const DEMO = new URL('../../examples/traces/inference-demo.otlp.jsonl', import.meta.url).pathname;

async function drain(file: string, was: Awaited<ReturnType<typeof fileIdentity>>): Promise<{ spans: number; stats: ReadStats }> {
  const reader = readAgain(file, was, () => readSpans(file));
  let spans = 0;
  for (;;) {
    const next = await reader.next();
    if (next.done === true) return { spans, stats: next.value };
    spans += next.value.length;
  }
}

describe('a file opened again by name', () => {
  it('the same file: read, no warning', async () => {
    const file = join(tmp, 'same.jsonl');
    copyFileSync(DEMO, file);
    const { spans, stats } = await drain(file, await fileIdentity(file));
    expect(spans).toBe(1980);
    expect(stats.warnings).toEqual([]);
  });

  it('renamed away and a new file under its name (rotation): the new one is read, and said', async () => {
    const file = join(tmp, 'traces.jsonl');
    copyFileSync(DEMO, file);
    const was = await fileIdentity(file);
    renameSync(file, join(tmp, 'traces-2026-03-02T14-05-00.000.jsonl'));
    const lines = readFileSync(DEMO, 'utf8').split('\n').slice(0, 2).join('\n');
    writeFileSync(file, `${lines}\n`);
    const { spans, stats } = await drain(file, was);
    expect(spans).toBeLessThan(1980);
    expect(stats.warnings).toEqual([{ file, message: `${file} is another file (renamed or replaced) since it was listed (a rotation during the run?): read as it is now`, count: 1 }]);
  });

  it('rewritten shorter in place (the same file, truncated): said', async () => {
    const file = join(tmp, 'shorter.jsonl');
    copyFileSync(DEMO, file);
    const was = await fileIdentity(file);
    const text = readFileSync(DEMO, 'utf8');
    writeFileSync(file, `${text.slice(0, text.lastIndexOf('\n', text.length >> 1))}\n`);
    const { spans, stats } = await drain(file, was);
    expect(spans).toBeLessThan(1980);
    expect(stats.warnings).toEqual([{ file, message: `${file} is shorter (truncated) since it was listed (a rotation during the run?): read as it is now`, count: 1 }]);
  });
});
