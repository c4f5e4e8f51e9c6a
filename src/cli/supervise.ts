/**
 * @module cli/supervise
 * Runs a finite command (`analyze`, `diff`) in a child process and ends the child once it has
 * said its exit code, so a gate's exit code always arrives. Rarely, Node never finishes exiting
 * after the work is done: the main thread waits at shutdown for a V8 compile job that itself
 * waits for the main thread ("Deadlock at process shutdown",
 * https://github.com/nodejs/node/issues/54918; `process.exit()` does not avoid it). The child
 * writes its code on fd 3 when its output is written; if it has not exited `graceMs` later, the
 * parent kills it and exits with that code. Signals sent to the parent reach the child, and a
 * child ended by a signal ends the parent by the same signal. The child gets the Node options of
 * `childNodeOptions` besides this process's own, and the environment of `childEnvironment`. The
 * long-lived sidecar is not supervised: its process is the one a supervisor stops.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { availableParallelism, constants } from 'node:os';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';

/** Set in the child's environment: the command reports its exit code on fd 3. */
export const SUPERVISED_ENV = 'LATENCY_DOCTOR_SUPERVISED';

/** Commands that end by themselves, run under the supervisor. */
const FINITE_COMMANDS: ReadonlySet<string> = new Set(['analyze', 'diff']);

/** How long a child that has reported its code may take to exit before it is ended. */
const DEFAULT_GRACE_MS = 5_000;

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** Whether argv (as process.argv) names a finite command and this process is not already the supervised child. */
export function wantsSupervisor(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[SUPERVISED_ENV] !== undefined) return false;
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  return command !== undefined && FINITE_COMMANDS.has(command);
}

/** The young generation's semi-space cap for the analysis child, MiB (see childNodeOptions). */
const SEMI_SPACE_MIB = 4;
/** The cap where an input is a Jaeger or Zipkin document (see childNodeOptions). */
const DOCUMENT_SEMI_SPACE_MIB = 8;
/** V8's old-generation growing factor for the analysis child, in percent over 1 (see childNodeOptions). */
const HEAP_GROWING_PERCENT = 50;
/** V8 major versions `--heap-growing-percent` is given on (why these: childNodeOptions). */
const V8_CHECKED = { from: 11, to: 13 } as const;

/** True when V8 `version` (process.versions.v8) is one `--heap-growing-percent` is given on (V8_CHECKED). */
function knownV8(version: string): boolean {
  const major = Number.parseInt(version, 10);
  return major >= V8_CHECKED.from && major <= V8_CHECKED.to;
}

/** How much of each input `readsDocuments` looks at. */
const SNIFF_BYTES = 4096;

/**
 * Node options for the analysis child:
 *
 * - `--max-semi-space-size=4` (MiB) for OTLP and other inputs: V8 grows its young generation's semi-spaces up
 *   to 16 MiB on a long run (Node 20), and what it grew stays resident for the rest of the run.
 *   Capped, the peak RSS of a 500 MB export fell from 141 to 124 MB and of 1 GB from 174 to
 *   153-157 MB (Node 24: 177 to 160-163 MB), with no time lost: the scavenges stay cheap (little
 *   survives them) and a smaller young generation faults in fewer fresh pages (500 MB: 8,300
 *   main-thread faults against 11,500; the 62 MB Jaeger document 0.90 against 0.96 s). A 1 or
 *   2 MiB cap saved memory only past 1 GB and took 5-10% more time there (docs/analyzer.md, "The
 *   young generation's size"). 8 MiB where an input is a Jaeger or Zipkin document
 *   (`readsDocuments`: their readers make a record per span, which a 4 MiB young generation
 *   promotes). "Node.js command-line options: --max-semi-space-size",
 *   https://nodejs.org/api/cli.html#--max-semi-space-sizesize-in-mib
 * - `--v8-pool-size=1` on 2 cores or fewer: V8's background thread pool cut to one thread (Node's
 *   default is 4). The analysis's main thread is its critical path; with 4 background threads
 *   compiling and collecting beside it on 2 cores it waited 69-118 ms of a 200 MB run runnable
 *   but not running (Linux schedstat), with one 0-30 ms, and the run took ~5-8% less wall
 *   (docs/analyzer.md, "V8's thread pool on 2 cores"); not on more cores, where it was not
 *   measured. "Node.js command-line options: --v8-pool-size=num",
 *   https://nodejs.org/api/cli.html#--v8-pool-sizenum
 * - `--expose-gc`: the analysis collects garbage once its requests are assembled (cli/_collect.ts;
 *   1 GB: peak RSS 146 → 135-136 MB). Nothing else calls it.
 * - `--heap-growing-percent=50`: V8 lets its old generation grow to 1.5 times what a full
 *   collection left before it collects again, where its own factor, larger for a program that
 *   allocates fast, let it grow to several times that: a Triton trace file's reader and mapping
 *   make objects per record and per span that outlive the young generation, and the old
 *   generation swelled between collections (a 30 MB file 170-184 → 117-122 MB peak RSS, 90 MB 225-239 → 152-158 MB, no slower;
 *   OTLP and Jaeger inputs, whose live heap is small, within 5 MB and the noise; docs/analyzer.md,
 *   "The old generation's growth"). A V8 flag, not one of Node's, with no stability guarantee
 *   ("Node.js command-line options: Useful V8 options",
 *   https://nodejs.org/api/cli.html#useful-v8-options): given only on V8 majors 11 to 13 (run on
 *   Node 20's 11.3 and Node 24's 13.6, Node 22's 12.4 between them), since Node refuses to start
 *   on a flag its V8 does not know.
 *
 * None is added where the caller already chose it (on the command line or in NODE_OPTIONS,
 * in V8's spelling with dashes or underscores).
 */
export function childNodeOptions(
  cores = availableParallelism(),
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env['NODE_OPTIONS'] ?? '',
  args: readonly string[] = [],
  v8Version = process.versions.v8,
): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((a) => a.replaceAll('_', '-'));
  const chosen = (flag: string): boolean => given.some((a) => a === flag || a.startsWith(`${flag}=`));
  const semiSpace = chosen('--max-semi-space-size') ? [] : [`--max-semi-space-size=${readsDocuments(args) ? DOCUMENT_SEMI_SPACE_MIB : SEMI_SPACE_MIB}`];
  const pool = chosen('--v8-pool-size') || cores > 2 ? [] : ['--v8-pool-size=1'];
  const gc = chosen('--expose-gc') ? [] : ['--expose-gc'];
  const growing = chosen('--heap-growing-percent') || !knownV8(v8Version) ? [] : [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`];
  return [...semiSpace, ...pool, ...gc, ...growing];
}

/**
 * True when one of `args` (the command's arguments: those that are not readable regular files
 * are passed over) starts as a Jaeger document (`{"data":` or a bare trace's `{"traceID":`) or
 * as a JSON array of spans or traces (Zipkin's; a trace id among its first bytes), read from its
 * first bytes (a gzip file's once inflated; a zstd file's are not read). Their readers make a
 * span record per span, which outlive a 4 MiB young generation and were promoted in bulk: with
 * the cap at 4 MiB a 300 MB Jaeger document took 2.9 s and 205 MB, at 8 MiB 2.3 s and 142 MB (a
 * 200 MB Zipkin array 3.2 s and 220 MB, 2.3 s and 166 MB), where OTLP JSON lines, read into
 * columns, run 5% faster at 4, and a Triton trace file (an array too) took as long at either and
 * 17 MB more at 8 (docs/analyzer.md, "The young generation's size").
 */
export function readsDocuments(args: readonly string[]): boolean {
  // A few bytes and two patterns, not detection's classifier (formats/detect.ts): loading that
  // module took ~25 ms of this process's start, on every run's critical path, for a choice the
  // child's own detection does not depend on.
  return args.some((arg) => {
    let head: Buffer;
    try {
      if (!statSync(arg).isFile()) return false;
      const fd = openSync(arg, 'r');
      try {
        head = Buffer.alloc(SNIFF_BYTES);
        head = head.subarray(0, readSync(fd, head, 0, SNIFF_BYTES, 0));
      } finally {
        closeSync(fd);
      }
      if (head[0] === 0x1f && head[1] === 0x8b) head = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      return false;
    }
    const text = head.toString('utf8').replace(/^\uFEFF/, '');
    // Jaeger's envelope or a bare trace; a Zipkin array (or Jaeger's span array), not a Triton trace file's.
    return /^\s*\{\s*"(data|traceID)"\s*:/.test(text) || (/^\s*\[/.test(text) && /"trace(Id|ID)"/.test(text));
  });
}

/** What glibc's malloc keeps at the top of a heap instead of handing back to the kernel (MALLOC_TOP_PAD_). */
const MALLOC_TOP_PAD_BYTES = 64 * 1024 * 1024;

/** The GLIBC_TUNABLES entry that has malloc ask for transparent huge pages (see childEnvironment). */
const HUGE_PAGES = 'glibc.malloc.hugetlb=1';

/**
 * Environment variables added for the analysis child on Linux, two glibc malloc settings:
 *
 * - `MALLOC_TOP_PAD_`: malloc keeps up to 64 MiB freed at the top of each heap instead of giving
 *   it back to the kernel at once. V8's optimizing compiler mallocs and frees its working memory
 *   for every function it compiles; given back each time, every page of it was faulted in again,
 *   and on a virtual machine a page fault costs several microseconds (6 µs measured here): a 200
 *   MB run took ~14,000 faults, with the pad ~10,000, and 3-4% less wall (1 GB 8%), its peak RSS
 *   1-2 MB higher. mallopt(3), M_TOP_PAD: https://man7.org/linux/man-pages/man3/mallopt.3.html
 * - `glibc.malloc.hugetlb=1` (a GLIBC_TUNABLES entry, glibc 2.35 and later): malloc asks for
 *   transparent huge pages (madvise) on the memory it maps, so where the kernel gives them only
 *   on request (`enabled=madvise`) a 2 MiB page takes one fault instead of 512. The file buffers
 *   and typed arrays are malloc's: a 62 MB Jaeger document 1.22 → 0.96 s (its buffer alone was
 *   ~15,000 faults), a 4.9 MB export 178 → 157 ms, 200 MB 784 → 766 ms, 1 GB 2.79 → 2.69 s,
 *   peak RSS 4-5 MB higher. Where huge pages are off, or on for everything, it changes nothing;
 *   an older glibc ignores it. "Memory Allocation Tunables":
 *   https://www.gnu.org/software/libc/manual/html_node/Memory-Allocation-Tunables.html
 *
 * docs/analyzer.md, "Page faults and glibc's malloc". Nothing is added where the user set any
 * MALLOC_* variable or a glibc.malloc tunable (`GLIBC_TUNABLES=glibc.malloc.hugetlb=0` turns
 * both off), nor off Linux (another libc ignores both anyway); other tunables the user set are
 * kept, ours after them.
 */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Record<string, string> {
  const tunables = env['GLIBC_TUNABLES'] ?? '';
  const chosen = Object.keys(env).some((k) => k.startsWith('MALLOC_')) || tunables.includes('glibc.malloc.');
  if (chosen || platform !== 'linux') return {};
  return { MALLOC_TOP_PAD_: String(MALLOC_TOP_PAD_BYTES), GLIBC_TUNABLES: tunables === '' ? HUGE_PAGES : `${tunables}:${HUGE_PAGES}` };
}

/** Runs `script` with `args` in a child Node process under the supervisor; resolves with the exit code to use, or ends this process by the child's signal. */
export function supervise(script: string, args: readonly string[], graceMs = DEFAULT_GRACE_MS): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...childNodeOptions(undefined, undefined, undefined, args), script, ...args], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      env: { ...process.env, ...childEnvironment(), [SUPERVISED_ENV]: '1' },
    });
    let reported: number | undefined;
    let killedAfterReport = false;
    let timer: NodeJS.Timeout | undefined;
    let text = '';
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const match = /^(\d+)\n/.exec(text);
      if (match === null || reported !== undefined) return;
      reported = Number(match[1]);
      timer = setTimeout(() => {
        killedAfterReport = true;
        child.kill('SIGKILL');
      }, graceMs);
    });
    child.stdio[3]?.on('error', () => undefined);
    const forward = (signal: NodeJS.Signals) => (): void => {
      child.kill(signal);
    };
    const handlers = FORWARDED.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    child.on('error', (error) => {
      process.stderr.write(`latency-doctor: cannot start ${process.execPath}: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      for (const [sig, handler] of handlers) process.off(sig, handler);
      if (killedAfterReport && reported !== undefined) return resolve(reported);
      if (signal !== null) {
        // Ended by a signal: end this process the same way, so the shell sees 128 + its number;
        // as a container's PID 1 the signal is ignored, and the code says it instead.
        process.kill(process.pid, signal);
        return resolve(128 + (constants.signals[signal] ?? 0));
      }
      resolve(code ?? 1);
    });
  });
}

/**
 * In the supervised child: ends this process when the supervisor is gone (killed with SIGKILL,
 * which it cannot forward), so no analysis runs on as an orphan. fd 3 is one end of a socket
 * pair whose other end dies with the parent.
 */
export function followSupervisor(env: NodeJS.ProcessEnv = process.env): void {
  if (env[SUPERVISED_ENV] === undefined) return;
  try {
    const link = new Socket({ fd: 3, readable: true, writable: false });
    link.on('error', () => undefined);
    link.on('end', () => process.kill(process.pid, 'SIGTERM'));
    link.resume();
    // Watching must not keep the process alive once its work is done.
    link.unref();
  } catch {
    // fd 3 is not the supervisor's socket (run by hand with the variable set): nothing to follow.
  }
}

/** In the supervised child: says the exit code on fd 3 once the command's output is written. */
export function reportExitCode(code: number, env: NodeJS.ProcessEnv = process.env): void {
  if (env[SUPERVISED_ENV] === undefined) return;
  try {
    writeSync(3, `${code}\n`);
  } catch {
    // No supervisor listening (fd 3 closed or not a pipe): nothing to tell.
  }
}
