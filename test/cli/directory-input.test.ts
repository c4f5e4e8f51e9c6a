/**
 * `analyze DIR` and `diff DIR -- DIR`: the directory the OpenTelemetry Collector's file exporter
 * writes with rotation (the live file at its `path`, each backup renamed with a timestamp before
 * the extension, `traces-2026-03-02T14-00-01.000.jsonl`; File Exporter README,
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/exporter/fileexporter).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as cli, ensureBuilt } from '../support/cli.js';
import type { CliRun } from '../support/cli.js';
import { simulate } from '../../examples/traces/simulate.js';
import type { SynthSpan } from '../support/synth.js';
import { toOtlpJsonLines } from '../support/synth.js';

const root = new URL('../../', import.meta.url).pathname;
const demo = join(root, 'examples/traces/inference-demo.otlp.jsonl');
// Real sidecar samples (test/fixtures/nvidia-smi/SOURCES.md).
const gpuSamples = join(root, 'test/fixtures/nvidia-smi/samples__h200__drv580.159.04__idle-burn-sw-power-cap.jsonl');
const tmp = mkdtempSync(join(tmpdir(), 'ld-dir-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(ensureBuilt, 180_000);

const BACKUP = 'traces-2026-03-02T14-00-01.000.jsonl';
const LIVE = 'traces.jsonl';

function zstd(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c'], { input: data });
}

/** A fresh directory under the test's temporary one. */
function directory(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  return dir;
}

/** The demo export as the exporter rotates it: its first half in a backup, the rest in the live file, zstd-compressed. */
function rotatedDemo(name: string): { dir: string; backup: string; live: string } {
  const dir = directory(name);
  const lines = readFileSync(demo, 'utf8').split('\n').filter((l) => l !== '');
  const half = Math.floor(lines.length / 2);
  const backup = join(dir, BACKUP);
  const live = join(dir, LIVE);
  writeFileSync(backup, lines.slice(0, half).join('\n') + '\n');
  writeFileSync(live, zstd(Buffer.from(lines.slice(half).join('\n') + '\n')));
  return { dir, backup, live };
}

/** The `--json` report without its list of files, which names them. */
function withoutFiles(stdout: string): unknown {
  const report = JSON.parse(stdout) as Record<string, unknown>;
  delete report['files'];
  return report;
}

function fileNames(stdout: string): string[] {
  return (JSON.parse(stdout) as { files: { file: string; format: string }[] }).files.map((f) => f.file);
}

function stderrLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
}

describe('a directory as input (the Collector file exporter with rotation)', { timeout: 120_000 }, () => {
  it('a rotated set (a backup and a zstd-compressed live file) gives the single file’s result, backup listed first; the order files are given in changes nothing', async () => {
    const { dir, backup, live } = rotatedDemo('rotated');
    const single = await cli('analyze', '--json', demo);
    const fromDir = await cli('analyze', '--json', dir);
    expect(fromDir.code, fromDir.stderr).toBe(0);
    expect(fromDir.stderr).toBe('');
    expect(withoutFiles(fromDir.stdout)).toEqual(withoutFiles(single.stdout));
    expect(fileNames(fromDir.stdout)).toEqual([backup, live]);
    // Given by hand, newest first: merged by time, the same result.
    const reversed = await cli('analyze', '--json', live, backup);
    expect(withoutFiles(reversed.stdout)).toEqual(withoutFiles(single.stdout));
    // The Files section of the text report names each file.
    const text = await cli('analyze', dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('220 requests analysed');
    // The --html page's example waterfalls read the directory's files again: the same page as the files given by hand.
    const [pageOfDir, pageOfFiles] = [join(tmp, 'dir.html'), join(tmp, 'files.html')];
    expect((await cli('analyze', '--html', pageOfDir, dir)).code).toBe(0);
    expect((await cli('analyze', '--html', pageOfFiles, backup, live)).code).toBe(0);
    expect(readFileSync(pageOfDir, 'utf8')).toEqual(readFileSync(pageOfFiles, 'utf8'));
    // (A long path is shortened in the middle to fit the column.)
    expect(text.stdout).toMatch(/\nFiles\n {2}\S*T14-00-01\.000\.jsonl +OTLP JSON lines +960 spans\n {2}\S*\/traces\.jsonl +OTLP JSON lines +1,020 spans\n/);
  });

  it('diff DIR -- DIR compares as the files would', async () => {
    const before = rotatedDemo('diff-before').dir;
    const after = rotatedDemo('diff-after').dir;
    const fromDirs = await cli('diff', '--json', before, '--', after);
    expect(fromDirs.code, fromDirs.stderr).toBe(0);
    expect(JSON.parse(fromDirs.stdout)).toEqual(JSON.parse((await cli('diff', '--json', demo, '--', demo)).stdout));
  });

  it('a file in the directory that is not a trace is a warning naming it, not a failure; with --strict it fails the run', async () => {
    const { dir } = rotatedDemo('with-notes');
    const notes = join(dir, 'README.txt');
    writeFileSync(notes, 'rotated by the collector, kept 3 days\n');
    const run = await cli('analyze', '--json', dir);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { files: { file: string }[]; warnings: { code: string; file: string | null; message: string; count: number }[]; requests: number };
    expect(report.requests).toBe(220);
    expect(report.files.map((f) => f.file)).not.toContain(notes);
    const warning = report.warnings.find((w) => w.file === notes);
    expect(warning).toMatchObject({ code: 'read', count: 1 });
    expect(warning!.message).toContain(`a file of ${dir}, not read as a trace`);
    expect(warning!.message).toContain('got "rotated by the collector');
    expect((await cli('analyze', dir)).stdout).toContain(`${notes}:1:1: left out`);
    const strict = await cli('analyze', '--strict', dir);
    expect(strict.code).toBe(2);
    expect(stderrLines(strict.stderr)).toEqual([expect.stringMatching(new RegExp(`^latency-doctor: ${notes.replace(/[.]/g, '\\.')}:1:1: expected a trace export`))]);
  });

  it('a directory with no trace file is one line: empty or only other files exit 2, only empty files (nothing written yet) exit 4', async () => {
    const empty = directory('empty');
    const run = await cli('analyze', empty);
    expect(run.code).toBe(2);
    expect(stderrLines(run.stderr)).toEqual([`latency-doctor: ${empty}: expected a directory holding trace files, got an empty directory`]);
    const others = directory('others');
    writeFileSync(join(others, 'notes.txt'), 'hello\n');
    const other = await cli('analyze', others);
    expect(other.code).toBe(2);
    expect(stderrLines(other.stderr)).toEqual([expect.stringMatching(new RegExp(`^latency-doctor: ${others}: expected a directory holding trace files, got one file, none a trace export \\(${others}/notes\\.txt:1:1: expected a trace export`))]);
    const justRotated = directory('just-rotated');
    writeFileSync(join(justRotated, LIVE), '');
    const nothing = await cli('analyze', justRotated);
    expect(nothing.code).toBe(4);
    expect(stderrLines(nothing.stderr)).toEqual([`latency-doctor: nothing measured: ${justRotated} holds no trace yet: its file is empty (${justRotated}/${LIVE})`]);
    // diff says it of the side it concerns.
    const diff = await cli('diff', demo, '--', empty);
    expect(diff.code).toBe(2);
    expect(stderrLines(diff.stderr)).toEqual([`latency-doctor: ${empty}: expected a directory holding trace files, got an empty directory`]);
  });

  it('hidden files are skipped without a word; a directory of only hidden files has no trace file', async () => {
    const { dir, backup, live } = rotatedDemo('with-hidden');
    // An editor's swap file, and a copy of the live file a tool left half-written under a dot-name.
    writeFileSync(join(dir, '.traces.jsonl.swp'), 'b0VIM 9.0\n');
    copyFileSync(demo, join(dir, '.traces.jsonl.tmp'));
    const run = await cli('analyze', '--json', dir);
    expect(run.code, run.stderr).toBe(0);
    expect(fileNames(run.stdout)).toEqual([backup, live]);
    expect(withoutFiles(run.stdout)).toEqual(withoutFiles((await cli('analyze', '--json', demo)).stdout));
    const hiddenOnly = directory('hidden-only');
    copyFileSync(demo, join(hiddenOnly, '.traces.jsonl'));
    const none = await cli('analyze', hiddenOnly);
    expect(none.code).toBe(2);
    expect(stderrLines(none.stderr)).toEqual([`latency-doctor: ${hiddenOnly}: expected a directory holding trace files, got a directory with no regular file (1 hidden file skipped)`]);
  });

  it("the sidecar's GPU sample file in the directory is read as GPU samples, as when given beside the traces", async () => {
    const { dir } = rotatedDemo('with-gpu');
    const samples = join(dir, 'gpu-samples.jsonl');
    copyFileSync(gpuSamples, samples);
    const run = await cli('analyze', '--json', dir);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { files: { file: string; format: string }[] };
    expect(report.files.find((f) => f.file === samples)?.format).toBe('gpu-samples');
    const explicit = await cli('analyze', '--json', demo, gpuSamples);
    const normalized = (stdout: string): unknown => JSON.parse(JSON.stringify(withoutFiles(stdout)).replaceAll(JSON.stringify(gpuSamples).slice(1, -1), 'SAMPLES').replaceAll(JSON.stringify(samples).slice(1, -1), 'SAMPLES'));
    expect(normalized(run.stdout)).toEqual(normalized(explicit.stdout));
    // Only samples: nothing measured, naming the file in the directory.
    const onlySamples = directory('only-gpu');
    copyFileSync(gpuSamples, join(onlySamples, 'gpu.jsonl'));
    const alone = await cli('analyze', onlySamples);
    expect(alone.code).toBe(4);
    expect(stderrLines(alone.stderr)).toEqual([`latency-doctor: nothing measured: ${onlySamples}/gpu.jsonl is a GPU sample file (the sidecar's), with no trace: give the trace export of the same window beside it`]);
  });

  it('a rotation set of more files than the open-file limit allows at once is read whole (ulimit -n 72), each file once', async () => {
    // 64 files of about 1.07 MB, 300 requests each: a file past 1 MiB held its descriptor from
    // detection until it was read, so under this limit the files past about the 50th were left
    // out ("expected a readable trace file, got EMFILE") with exit 0 and a quarter of the requests.
    const dir = directory('many');
    const traces = new Map<string, SynthSpan[]>();
    for (const span of simulate({ requests: 64 * 300, seed: 4 })) {
      const list = traces.get(span.traceId) ?? [];
      list.push(span);
      traces.set(span.traceId, list);
    }
    const inOrder = [...traces.values()];
    for (let i = 0; i < 64; i++) {
      // Backups named by the second they were rotated at, the last file the live one.
      const name = i === 63 ? LIVE : `traces-2026-03-02T14-${String(Math.floor(i / 60)).padStart(2, '0')}-${String(i % 60).padStart(2, '0')}.000.jsonl`;
      writeFileSync(join(dir, name), toOtlpJsonLines(inOrder.slice(i * 300, (i + 1) * 300).flat()));
    }
    const run = await limited(72, 'analyze', '--json', dir);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { requests: number; files: { spans: number }[]; warnings: { code: string }[] };
    expect(report.files).toHaveLength(64);
    expect(report.files.every((f) => f.spans === 300 * 9)).toBe(true);
    expect(report.requests).toBe(64 * 300);
    expect(report.warnings.map((w) => w.code)).toEqual([]);
  });
});

/** `cli` under a soft limit of `files` open files (`ulimit -n`), as a shell sets it. */
function limited(files: number, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const command = `ulimit -n ${files} && exec "$0" "$@"`;
    execFile('bash', ['-c', command, process.execPath, join(root, 'bin/latency-doctor.js'), ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
