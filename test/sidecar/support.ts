/**
 * Shared helpers of the sidecar tests: fixture paths, the fake nvidia-smi on PATH, and a check
 * that no process a test started outlives it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIDECAR_TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
export const REPO_ROOT = join(SIDECAR_TEST_DIR, '..', '..');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'nvidia-smi');
export const FAKE_DIR = join(SIDECAR_TEST_DIR, 'fake-nvidia-smi');
export const FAKE_NVIDIA_SMI = join(FAKE_DIR, 'nvidia-smi');

/** Absolute path of a fixture. */
export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** Fixture file names with a prefix (`capture__`, `csv__`, `xml__`). */
export function fixtures(prefix: string): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.startsWith(prefix))
    .sort();
}

/** Where the help text for each csv__ fixture comes from: the capture it was cut from, or a help__ file. */
export const CSV_HELP: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'csv__h100-80gb-hbm3__drv590.48.01__load__all-fields.csv': { FAKE_NVSMI_CAPTURE: fixture('capture__h100-80gb-hbm3__drv590.48.01__idle-load.txt') },
  'csv__h100-mig__drv590.48.01__load__all-fields-util-na.csv': { FAKE_NVSMI_CAPTURE: fixture('capture__h100-mig-4-instances__drv590.48.01__idle-load.txt') },
  'csv__rtx2080super__drv595.71.05__idle__sw-power-cap-0x4.csv': { FAKE_NVSMI_CAPTURE: fixture('capture__rtx2080super__drv595.71.05__idle-sw-power-cap.txt') },
  'csv__h200__drv580.159.04__idle__all-fields.csv': { FAKE_NVSMI_HELP: fixture('help__h200__drv580.159.04.txt') },
};

/** Environment with the fake first on PATH, `marker` to find its processes, and fake settings. */
export function fakeEnv(marker: string, settings: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${FAKE_DIR}:${process.env['PATH'] ?? ''}`, LD_TEST_MARKER: marker, ...settings };
}

/** Runs the fake once (synchronously; tests only). */
export function runFake(args: readonly string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(FAKE_NVIDIA_SMI, args, { env, encoding: 'utf8' });
}

/** Runs the fake once, asynchronously (so independent calls can overlap). */
export function runFakeAsync(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => execFile(FAKE_NVIDIA_SMI, args, { env, encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
}

/** Maps `items` through `task` with at most `limit` running at once. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** PIDs of live processes whose environment carries `LD_TEST_MARKER=marker`. */
export function processesWithMarker(marker: string): number[] {
  const needle = `LD_TEST_MARKER=${marker}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // Zombies (state Z) are already dead.
      if (environ.includes(needle) && !/^\d+ \(.*\) Z/.test(stat)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours.
    }
  }
  return pids;
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
