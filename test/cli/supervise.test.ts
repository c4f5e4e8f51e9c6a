/**
 * The supervisor that runs `analyze` and `diff` in a child: a child that has said its exit code
 * and then hangs (Node's shutdown deadlock, nodejs/node#54918) is ended and the code kept; codes
 * and signals pass through unchanged otherwise. Real child processes, each a small script.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnvironment, childNodeOptions, readsDocuments, supervise, wantsSupervisor, SUPERVISED_ENV } from '../../src/cli/supervise.js';
import { collectOption } from '../../src/cli/_collect.js';
import { runCli, runCliAt } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ld-supervise-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

const SUPERVISE_JS = JSON.stringify(new URL('../../dist/cli/supervise.js', import.meta.url).href);

/** A parent process supervising a child that runs `childBody`, writes its pid and prints 'ready'; resolves once it is ready. */
async function supervisedPair(name: string, childBody: string): Promise<{ parent: ReturnType<typeof spawn>; childPid: number }> {
  const pidFile = join(dir, `${name}.pid`);
  const child = script(`${name}-child.mjs`, `import { writeFileSync } from 'node:fs';\n${childBody}\nwriteFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nconsole.log('ready');\nsetInterval(() => {}, 1000);\n`);
  const parentScript = script(`${name}-parent.mjs`, `import { supervise } from ${SUPERVISE_JS};\nprocess.exitCode = await supervise(${JSON.stringify(child)}, []);\n`);
  const parent = spawn(process.execPath, [parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => parent.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve()));
  return { parent, childPid: Number(readFileSync(pidFile, 'utf8')) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('supervise', () => {
  it('ends a child that reported its code and then never exits, and returns that code', async () => {
    const pidFile = join(dir, 'hung.pid');
    const child = script('hang.mjs', `import { writeFileSync, writeSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nwriteSync(3, '3\\n');\nsetInterval(() => {}, 1000);\n`);
    const started = Date.now();
    expect(await supervise(child, [], 300)).toBe(3);
    // Ended after the given grace, not the default 5 s.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('keeps the code of a child that exits by itself, reported or not, and passes the arguments and the environment mark', async () => {
    const child = script('exit.mjs', `import { writeSync } from 'node:fs';\nif (process.env.${SUPERVISED_ENV} !== '1') process.exit(9);\nif (process.argv[2] === 'report') writeSync(3, '4\\n');\nprocess.exitCode = Number(process.argv[3]);\n`);
    // A child that exits by itself inside the grace: its real code wins over the one it reported.
    expect(await supervise(child, ['report', '5'])).toBe(5);
    expect(await supervise(child, ['quiet', '2'])).toBe(2);
  });

  it('forwards SIGTERM to the child and ends by the same signal', async () => {
    const { parent: run, childPid } = await supervisedPair('term', '');
    run.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => run.on('exit', (c, s) => resolve([c, s])));
    expect([code, signal]).toEqual([null, 'SIGTERM']);
    expect(alive(childPid)).toBe(false);
  }, 30_000);

  it('starts the child with a 4 MiB semi-space cap, one V8 background thread on 2 cores or fewer, gc exposed (collected once the requests are assembled) and the old generation grown by half at most, unless the caller chose any', async () => {
    const semi = '--max-semi-space-size=4';
    const gc = '--expose-gc';
    const growing = '--heap-growing-percent=50';
    expect(childNodeOptions(1, [], '')).toEqual([semi, '--v8-pool-size=1', gc, growing]);
    expect(childNodeOptions(2, ['--enable-source-maps'], '--max-old-space-size=4096')).toEqual([semi, '--v8-pool-size=1', gc, growing]);
    expect(childNodeOptions(4, [], '')).toEqual([semi, gc, growing]);
    expect(childNodeOptions(16, [], '')).toEqual([semi, gc, growing]);
    // The caller's choice stands, on the command line or in NODE_OPTIONS, in either spelling.
    expect(childNodeOptions(2, ['--v8-pool-size=3'], '')).toEqual([semi, gc, growing]);
    expect(childNodeOptions(2, [], '--trace-warnings --v8-pool-size=0')).toEqual([semi, gc, growing]);
    expect(childNodeOptions(2, ['--v8-pool-size', '2'], '')).toEqual([semi, gc, growing]);
    expect(childNodeOptions(2, ['--v8_pool_size=2'], '')).toEqual([semi, gc, growing]);
    expect(childNodeOptions(2, ['--max-semi-space-size=16'], '')).toEqual(['--v8-pool-size=1', gc, growing]);
    expect(childNodeOptions(16, [], '--max_semi_space_size=32')).toEqual([gc, growing]);
    expect(childNodeOptions(16, ['--max-semi-space-size', '8'], '')).toEqual([gc, growing]);
    expect(childNodeOptions(16, ['--expose-gc'], '')).toEqual([semi, growing]);
    expect(childNodeOptions(2, [], '--expose_gc')).toEqual([semi, '--v8-pool-size=1', growing]);
    expect(childNodeOptions(16, [], '--heap_growing_percent=0')).toEqual([semi, gc]);
    // A V8 flag, given only on the V8 versions it was checked on (Node refuses one its V8 does not know).
    expect(childNodeOptions(16, [], '', [], '11.3.244.8-node.33')).toEqual([semi, gc, growing]);
    expect(childNodeOptions(16, [], '', [], '13.6.233.17-node.37')).toEqual([semi, gc, growing]);
    expect(childNodeOptions(16, [], '', [], '10.2.154.26-node.26')).toEqual([semi, gc]);
    expect(childNodeOptions(16, [], '', [], '14.0.1')).toEqual([semi, gc]);
    // Another flag that starts alike is not a choice of either.
    expect(childNodeOptions(16, ['--max-semi-space-size-x=1', '--min-semi-space-size=2'], '')).toEqual([semi, gc, growing]);
    // A real child: what it was started with.
    const out = join(dir, 'exec-argv.json');
    const child = script('exec-argv.mjs', `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(out)}, JSON.stringify([...process.execArgv, typeof globalThis.gc]));\n`);
    expect(await supervise(child, [])).toBe(0);
    // This process's options, then the child's own (the semi-space cap; on 2 cores or fewer, the pool size; gc; the old generation's growth), and gc there to call.
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([...process.execArgv, ...childNodeOptions(), 'function']);
  });

  it('caps the semi-space at 8 MiB instead where an input is a Jaeger or Zipkin document (records per span), read from its first bytes', () => {
    const traces = (path: string): string => fileURLToPath(new URL(`../fixtures/traces/${path}`, import.meta.url));
    const example = (path: string): string => fileURLToPath(new URL(`../../examples/traces/${path}`, import.meta.url));
    const jaeger = traces('jaeger-json/jaeger-transform-otlp2jaeger-out-api-envelope.json');
    const bare = traces('jaeger-json/jaeger-ui-petclinic-31char-traceid.json');
    const zipkin = traces('zipkin-json/zipkin-lens-skew.json');
    const otlp = example('inference-demo.otlp.jsonl');
    // Past the 4 KiB read: its first bytes are inflated from a cut stream.
    const gz = join(dir, 'demo.jaeger.json.gz');
    writeFileSync(gz, gzipSync(readFileSync(example('inference-demo.jaeger.json'))));
    expect(readFileSync(gz).length).toBeGreaterThan(4096);
    for (const document of [jaeger, bare, zipkin, gz, example('inference-demo.jaeger.json'), example('inference-demo.zipkin.json')]) {
      expect(readsDocuments([document]), document).toBe(true);
      expect(childNodeOptions(16, [], '', ['analyze', '--markdown', otlp, document])).toEqual(['--max-semi-space-size=8', '--expose-gc', '--heap-growing-percent=50']);
    }
    // OTLP (lines or a document: read into columns), a Triton trace file (an array, but no faster at 8 MiB), directories, options and missing files: 4 MiB.
    const triton = traces('ml-serving/triton-docs-trace-timestamps.json');
    expect(readsDocuments(['analyze', otlp, triton, dir, '--since', '10m', join(dir, 'missing.json')])).toBe(false);
    expect(readsDocuments([traces('otlp-json/' + readdirSync(traces('otlp-json'))[0]!)])).toBe(false);
    expect(childNodeOptions(16, [], '', ['analyze', otlp])).toEqual(['--max-semi-space-size=4', '--expose-gc', '--heap-growing-percent=50']);
    // The caller's choice still stands.
    expect(childNodeOptions(16, ['--max-semi-space-size=16'], '', ['analyze', jaeger])).toEqual(['--expose-gc', '--heap-growing-percent=50']);
  });

  it("gives the child glibc's malloc pad and huge pages on Linux (MALLOC_TOP_PAD_, glibc.malloc.hugetlb), unless the user tuned malloc", async () => {
    const pad = String(64 * 1024 * 1024);
    expect(childEnvironment({ PATH: '/usr/bin' }, 'linux')).toEqual({ MALLOC_TOP_PAD_: pad, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    // Another namespace's tunables stay, ours after them.
    expect(childEnvironment({ GLIBC_TUNABLES: 'glibc.pthread.rseq=0' }, 'linux')).toEqual({ MALLOC_TOP_PAD_: pad, GLIBC_TUNABLES: 'glibc.pthread.rseq=0:glibc.malloc.hugetlb=1' });
    expect(childEnvironment({ MALLOC_ARENA_MAX: '2' }, 'linux')).toEqual({});
    expect(childEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0' }, 'linux')).toEqual({});
    expect(childEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux')).toEqual({});
    expect(childEnvironment({}, 'darwin')).toEqual({});
    // A real child: what its environment holds.
    const out = join(dir, 'env.json');
    const child = script('env.mjs', `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(out)}, JSON.stringify([process.env.MALLOC_TOP_PAD_ ?? null, process.env.GLIBC_TUNABLES ?? null]));\n`);
    expect(await supervise(child, [])).toBe(0);
    const added = childEnvironment();
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([added['MALLOC_TOP_PAD_'] ?? process.env['MALLOC_TOP_PAD_'] ?? null, added['GLIBC_TUNABLES'] ?? process.env['GLIBC_TUNABLES'] ?? null]);
  });

  it('supervises analyze and diff only, and never the supervised child itself', () => {
    expect(wantsSupervisor(['node', 'bin', 'analyze', 'x.json'], {})).toBe(true);
    expect(wantsSupervisor(['node', 'bin', '--verbose', 'diff', 'a', 'b'], {})).toBe(true);
    expect(wantsSupervisor(['node', 'bin', 'sidecar'], {})).toBe(false);
    expect(wantsSupervisor(['node', 'bin', '--version'], {})).toBe(false);
    expect(wantsSupervisor(['node', 'bin', 'analyze', 'x.json'], { [SUPERVISED_ENV]: '1' })).toBe(false);
  });

  it('the installed command keeps every exit code through the supervisor (0, 2, 3)', async () => {
    const demo = 'examples/traces/inference-demo.otlp.jsonl';
    expect((await runCli('analyze', demo)).code).toBe(0);
    const bad = await runCli('analyze', join(dir, 'missing.json'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^latency-doctor: .*missing\.json: expected a readable trace file, got no such file\n$/);
    expect((await runCli('analyze', demo, '--slo', 'p99=1ms', '--fail-on-slo')).code).toBe(3);
  }, 60_000);
});

describe('the supervised child', () => {
  it('ends when its supervisor is killed with SIGKILL (which cannot be forwarded), leaving no orphan', async () => {
    // The child runs the real CLI module's start (followSupervisor) and then would wait forever.
    const { parent: run, childPid } = await supervisedPair('orphan', `import { followSupervisor } from ${SUPERVISE_JS};\nfollowSupervisor();`);
    run.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    while (alive(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(childPid)).toBe(false);
  }, 30_000);
});

describe('the installed command', () => {
  it('runs from a directory whose path has a space (the child is started from a file path, not a URL)', async () => {
    const { cpSync, symlinkSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const installed = join(dir, 'a dir with space', 'latency-doctor');
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(root, part), join(installed, part), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'));
    const run = await runCliAt(join(installed, 'bin', 'latency-doctor.js'), 'analyze', join(root, 'examples/traces/inference-demo.otlp.jsonl'));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^latency-doctor: 220 requests analysed/);
  }, 60_000);
});

describe('the analysis child', () => {
  it('sets collect only where gc is exposed, to call it', () => {
    expect(collectOption({})).toEqual({});
    expect(collectOption({ gc: 'not a function' })).toEqual({});
    let calls = 0;
    const option = collectOption({ gc: () => calls++ });
    option.collect?.();
    expect(calls).toBe(1);
  });

  it('collects garbage once per analysis, after assembly: once for analyze, once for each side of diff, with the same output (V8 traces a gc() call as "testing")', async () => {
    const { execFile } = await import('node:child_process');
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const demo = join(root, 'examples/traces/inference-demo.otlp.jsonl');
    const bin = join(root, 'bin/latency-doctor.js');
    // --trace-gc in this process's options, which the child is started with too; V8 writes its lines to stdout.
    const traced = (...args: string[]): Promise<string> =>
      new Promise((resolve, reject) => execFile(process.execPath, ['--trace-gc', bin, ...args], { cwd: root, maxBuffer: 64 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
    const forced = (out: string): number => out.split('\n').filter((l) => l.includes('testing; GC in old space requested')).length;
    const analyzed = await traced('analyze', demo, '--json');
    expect(forced(analyzed)).toBe(1);
    const plain = await runCli('analyze', demo, '--json');
    expect(plain.code).toBe(0);
    // The report is unchanged by the collection: its lines are those without V8's.
    expect(analyzed.split('\n').filter((l) => !/^\[\d+:0x[0-9a-f]+\]/.test(l)).join('\n')).toBe(plain.stdout);
    expect(forced(await traced('diff', demo, '--', demo))).toBe(2);
  }, 60_000);
});
