/**
 * CPU cost of the GPU sidecar at a 1 s period: the sidecar runs as its own process (the real CLI
 * module) with the fake nvidia-smi first on PATH, scraped every 5 s, while an idle Node process
 * runs beside it as the baseline. CPU time of each comes from /proc/<pid>/stat (user + system)
 * over the same 60 s window (two rounds of the 30 s -q -x query), after a warm-up. Goal: sidecar minus baseline under 1 % of one core.
 * The fake nvidia-smi (a Node script replaying fixtures) is reported apart: real nvidia-smi's
 * cost is the driver's, measured on a GPU (docs/sidecar.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fakeDir = join(root, 'test', 'sidecar', 'fake-nvidia-smi');
// 60 s covers two rounds of the 30 s -q -x query, whose spawn and parse are the periodic cost.
const MEASURE_S = Number(process.env['SIDECAR_BENCH_SECONDS'] ?? '60');
const TICKS_PER_S = 100; // Linux USER_HZ

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name.
  return Number(fields[11]) + Number(fields[12]);
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match === null ? NaN : Number(match[1]) / 1024;
}

/** Descendant PIDs (the fake nvidia-smi children). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry), ...descendants(Number(entry)));
    } catch {
      // Gone.
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Prefer the built CLI module (what users run); fall back to the sources through tsx.
const built = join(root, 'dist', 'cli', 'sidecar.js');
const runner = existsSync(built)
  ? ['--input-type=module', '-e', `import { Command } from 'commander'; import { registerSidecarCommand } from ${JSON.stringify(built)}; const p = new Command('latency-doctor'); registerSidecarCommand(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });`, '--']
  : ['--import', 'tsx', join(root, 'test', 'sidecar', 'run-sidecar.ts')];
const sidecar: ChildProcess = spawn(process.execPath, [...runner, 'sidecar', '--port', '0', '--period', '1000'], {
  cwd: root,
  env: {
    ...process.env,
    PATH: `${fakeDir}:${process.env['PATH'] ?? ''}`,
    FAKE_NVSMI_SECTIONS: 'idle,load',
    // The largest -q -x document in the fixtures (122 KB), parsed every 30 s.
    FAKE_NVSMI_XML: join(root, 'test', 'fixtures', 'nvidia-smi', 'xml__rtx-pro-6000-blackwell-maxq__drv590.44.01__v13.xml'),
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const baseline: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });

let stderr = '';
sidecar.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
try {
  let url: string | undefined;
  for (let i = 0; i < 200 && url === undefined; i++) {
    url = /serving (http:\/\/[^ ]+)\/metrics/.exec(stderr)?.[1];
    if (url === undefined) await sleep(100);
  }
  if (url === undefined) throw new Error(`sidecar did not start: ${stderr}`);
  // Warm-up: discovery, first samples, JIT.
  await sleep(5000);
  const pid = sidecar.pid as number;
  const basePid = baseline.pid as number;
  const fakes0 = new Map(descendants(pid).map((p) => [p, cpuTicks(p)]));
  const t0 = process.hrtime.bigint();
  const s0 = cpuTicks(pid);
  const b0 = cpuTicks(basePid);
  let scrapes = 0;
  const deadline = Date.now() + MEASURE_S * 1000;
  while (Date.now() < deadline) {
    await sleep(Math.min(5000, deadline - Date.now()));
    const res = await fetch(`${url}/metrics`);
    if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
    await res.text();
    scrapes += 1;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const sidecarPct = ((cpuTicks(pid) - s0) / TICKS_PER_S / seconds) * 100;
  const basePct = ((cpuTicks(basePid) - b0) / TICKS_PER_S / seconds) * 100;
  let fakeTicks = 0;
  for (const [p, start] of fakes0) {
    try {
      fakeTicks += cpuTicks(p) - start;
    } catch {
      // Exited.
    }
  }
  const health = (await (await fetch(`${url}/healthz`)).json()) as { samplesCollected: number; failures: Record<string, number> };
  console.log(`sidecar at 1 s period, ${seconds.toFixed(1)} s measured, ${scrapes} scrapes, ${health.samplesCollected} samples, failures ${JSON.stringify(health.failures)}`);
  console.log(`  sidecar process      ${sidecarPct.toFixed(2)} % of one core   (RSS ${rssMiB(pid).toFixed(0)} MiB)`);
  console.log(`  idle node baseline   ${basePct.toFixed(2)} % of one core   (RSS ${rssMiB(basePid).toFixed(0)} MiB)`);
  console.log(`  sidecar − baseline   ${(sidecarPct - basePct).toFixed(2)} % of one core   (goal < 1 %: ${sidecarPct - basePct < 1 ? 'met' : 'NOT met'})`);
  console.log(`  fake nvidia-smi      ${((fakeTicks / TICKS_PER_S / seconds) * 100).toFixed(2)} % (a Node script; not the cost of the real nvidia-smi)`);
  console.log(`  (/proc ticks are 10 ms: ±${((0.01 / seconds) * 100).toFixed(2)} % resolution)`);
} finally {
  baseline.kill('SIGKILL');
  await new Promise<void>((resolve) => {
    if (sidecar.exitCode !== null) return resolve();
    sidecar.once('close', () => resolve());
    sidecar.kill('SIGTERM');
  });
}
