/**
 * @module test/prometheus/_prometheus
 * Starts Debian's real Prometheus (2.42, /usr/bin/prometheus) on 127.0.0.1 with a free port, a
 * temp data dir and a short scrape interval (1 s: also the scrape timeout, generous enough for a
 * busy machine), for the `analyze --prometheus` tests; waits until
 * every target has been scraped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { eventually, freePort, start } from '../stack/_processes.js';
import { startReplay } from './replay-exporter.js';
import type { ReplayExporter, ReplayScenario } from './replay-exporter.js';

/** A running Prometheus. */
export interface RunningPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/** Scrape jobs: job name → `host:port` targets (metrics path /metrics); `features` for `--enable-feature` (native-histograms, exemplar-storage). */
export async function startPrometheus(jobs: Readonly<Record<string, readonly string[]>>, scrapeInterval = '1s', features: readonly string[] = []): Promise<RunningPrometheus> {
  const scratch = mkdtempSync(join(tmpdir(), 'ld-prom-'));
  const port = await freePort();
  const config = ['global:', `  scrape_interval: ${scrapeInterval}`, `  evaluation_interval: ${scrapeInterval}`, 'scrape_configs:'];
  for (const [job, targets] of Object.entries(jobs)) {
    config.push(`  - job_name: ${JSON.stringify(job)}`, `    scrape_interval: ${scrapeInterval}`, '    static_configs:', `      - targets: ${JSON.stringify(targets)}`);
  }
  writeFileSync(join(scratch, 'prometheus.yml'), `${config.join('\n')}\n`);
  const child = start('prometheus', [`--config.file=${join(scratch, 'prometheus.yml')}`, `--storage.tsdb.path=${join(scratch, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...(features.length > 0 ? [`--enable-feature=${features.join(',')}`] : [])]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await child.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    await eventually(async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 30_000, `Prometheus ready\n${child.output()}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

/** Waits until every target of the jobs is up and has been scraped at least `scrapes` times. */
export async function waitForScrapes(url: string, jobs: readonly string[], scrapes = 2): Promise<void> {
  await eventually(
    async () => {
      const expr = `count_over_time(up[1m])`;
      const body = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { data: { result: { metric: { job: string }; value: [number, string] }[] } };
      const done = new Set(body.data.result.filter((r) => Number(r.value[1]) >= scrapes).map((r) => r.metric.job));
      return jobs.every((j) => done.has(j)) ? true : undefined;
    },
    60_000,
    `targets of ${jobs.join(', ')} scraped`,
  );
}

/** One job of replayed exporters scraped by a fresh Prometheus for `trafficS` seconds: the range to read, and how to stop it all. */
export interface ReplayedJob {
  readonly url: string;
  readonly startS: number;
  readonly endS: number;
  /** The replicas' `host:port` (their `instance` label), in the order of the scenarios. */
  readonly targets: readonly string[];
  stop(): Promise<void>;
}

/**
 * Replays `scenarios` as job `job` for the test file (beforeAll, stopped in afterAll); the returned
 * function gives the running job inside the tests.
 */
export function useReplayedJob(job: string, scenarios: () => readonly ReplayScenario[], trafficS: number): () => ReplayedJob {
  let run: ReplayedJob | undefined;
  beforeAll(async () => {
    run = await replayJob(job, scenarios(), trafficS);
  }, 90_000);
  afterAll(async () => {
    await run?.stop();
  }, 30_000);
  return () => {
    if (run === undefined) throw new Error(`the replayed job ${job} did not start`);
    return run;
  };
}

/** Replays `scenarios` as the replicas of `job` into a fresh Prometheus and waits `trafficS` seconds of traffic after the first scrapes. */
export async function replayJob(job: string, scenarios: readonly ReplayScenario[], trafficS: number): Promise<ReplayedJob> {
  const exporters: ReplayExporter[] = [];
  for (const s of scenarios) exporters.push(await startReplay(s));
  const targets = exporters.map((e) => new URL(e.url).host);
  const prometheus = await startPrometheus({ [job]: targets }, '1s');
  await waitForScrapes(prometheus.url, [job]);
  const startS = Math.floor(Date.now() / 1000);
  await new Promise((r) => setTimeout(r, trafficS * 1000));
  const endS = Math.floor(Date.now() / 1000);
  return {
    url: prometheus.url,
    startS,
    endS,
    targets,
    async stop() {
      await prometheus.stop();
      await Promise.allSettled(exporters.map((e) => e.close()));
    },
  };
}
