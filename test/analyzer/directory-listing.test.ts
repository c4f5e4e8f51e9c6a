/**
 * The order a directory's files are read in: the Collector file exporter's rotation names each
 * backup `NAME-<time of rotation>.EXT` (File Exporter README,
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/exporter/fileexporter).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listDirectory } from '../../src/analyzer/_directory.js';

const tmp = mkdtempSync(join(tmpdir(), 'ld-listing-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('listDirectory', () => {
  it('keeps each rotation set together, its backups by time, the live file last; skips hidden files and subdirectories, follows links', async () => {
    const dir = join(tmp, 'rotation');
    mkdirSync(dir);
    const names = [
      'traces.jsonl',
      'traces-2026-03-02T14-05-00.000.jsonl',
      // Compressed afterwards by a cron job: still a backup of traces.jsonl, and the oldest.
      'traces-2026-03-02T13-55-00.500.jsonl.zst',
      'traces-client.jsonl',
      'traces-client-2026-03-02T14-00-00.000.jsonl',
      '.traces.jsonl.swp',
    ];
    for (const name of names) writeFileSync(join(dir, name), 'x');
    mkdirSync(join(dir, 'old'));
    writeFileSync(join(dir, 'old', 'traces.jsonl'), 'x');
    symlinkSync(join(dir, 'traces.jsonl'), join(dir, 'latest'));
    const listing = await listDirectory(dir);
    // A plain sort by name would put traces-2026-… before traces-client… and split the set.
    expect(listing?.files.map((f) => f.file.slice(dir.length + 1))).toEqual([
      'latest',
      'traces-client-2026-03-02T14-00-00.000.jsonl',
      'traces-client.jsonl',
      'traces-2026-03-02T13-55-00.500.jsonl.zst',
      'traces-2026-03-02T14-05-00.000.jsonl',
      'traces.jsonl',
    ]);
    expect(listing?.files.every((f) => f.bytes === 1)).toBe(true);
  });

  it('a file, a missing path or standard input is no directory', async () => {
    const file = join(tmp, 'one.jsonl');
    writeFileSync(file, 'x');
    expect(await listDirectory(file)).toBeUndefined();
    expect(await listDirectory(join(tmp, 'missing'))).toBeUndefined();
  });
});
