/**
 * @module cli/sidecar
 * `latency-doctor sidecar`: runs the GPU sidecar until SIGINT/SIGTERM. Option mistakes and a
 * busy port are SidecarErrors (one line on stderr, exit code 2, printed by cli/main).
 */
import { Command } from 'commander';
import { DEFAULT_OTLP_INTERVAL_MS, DEFAULT_PERIOD_MS, DEFAULT_SAMPLES_MAX_MB, DEFAULT_SIDECAR_PORT, DEFAULT_STARTUP_ALLOWANCE_MS, DEFAULT_XML_PERIOD_MS } from '../sidecar/defaults.js';
import type { SidecarOptions } from '../sidecar/sidecar.js';
import { integerOption } from './_options.js';
import { CliError } from './errors.js';

interface SidecarFlags {
  readonly host: string;
  readonly port: number;
  readonly period: number;
  readonly samplesFile?: string;
  readonly samplesMaxMb: number;
  readonly nvidiaSmi?: string;
  readonly xmlPeriod: number;
  readonly startupAllowance: number;
  readonly otlpEndpoint?: string;
  readonly otlpInterval: number;
}

/** Adds the `sidecar` command to the program. */
export function registerSidecarCommand(program: Command): Command {
  return program
    .command('sidecar')
    .description('Poll GPU (nvidia-smi) and host state; serve Prometheus /metrics, /healthz and /samples; optionally write a JSON-lines sample file for `analyze`.')
    .option('--host <address>', 'address to bind (loopback by default)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', integerOption('--port', 0, 65535), DEFAULT_SIDECAR_PORT)
    .option('--period <ms>', 'sampling period in milliseconds', integerOption('--period', 50, 3_600_000), DEFAULT_PERIOD_MS)
    .option('--samples-file <file>', 'append every sample as one JSON line (input for `latency-doctor analyze`)')
    .option('--samples-max-mb <mb>', 'past this size move the samples file to NAME.1.EXT, replacing the one before, and start a new one: at most twice this is kept (0 = never)', integerOption('--samples-max-mb', 0, 1_000_000), DEFAULT_SAMPLES_MAX_MB)
    .option('--nvidia-smi <path>', 'nvidia-smi executable (default: nvidia-smi on PATH)')
    .option('--xml-period <ms>', 'period of the slow `nvidia-smi -q -x` query (0 = off)', integerOption('--xml-period', 0, 86_400_000), DEFAULT_XML_PERIOD_MS)
    .option('--startup-allowance <ms>', 'extra time a fresh nvidia-smi gets for its first row before the watchdog restarts it', integerOption('--startup-allowance', 0, 600_000), DEFAULT_STARTUP_ALLOWANCE_MS)
    .option('--otlp-endpoint <url>', 'also export the metrics over OTLP/gRPC to this endpoint, e.g. http://127.0.0.1:4317')
    .option('--otlp-interval <ms>', 'OTLP export interval', integerOption('--otlp-interval', 100, 3_600_000), DEFAULT_OTLP_INTERVAL_MS)
    .action(async (flags: SidecarFlags) => {
      if (flags.samplesMaxMb > 0 && flags.samplesFile === undefined) throw new CliError('--samples-max-mb only applies with --samples-file FILE');
      const options: SidecarOptions = {
        host: flags.host,
        port: flags.port,
        periodMs: flags.period,
        xmlPeriodMs: flags.xmlPeriod,
        startupAllowanceMs: flags.startupAllowance,
        ...(flags.samplesFile !== undefined ? { samplesFile: flags.samplesFile, samplesMaxBytes: flags.samplesMaxMb * 1024 * 1024 } : {}),
        ...(flags.nvidiaSmi !== undefined ? { nvidiaSmi: flags.nvidiaSmi } : {}),
        ...(flags.otlpEndpoint !== undefined ? { otlpEndpoint: flags.otlpEndpoint, otlpIntervalMs: flags.otlpInterval } : {}),
      };
      // Loaded here, not at the top: the sidecar's exporters and HTTP server are about 700
      // modules, which every other command (analyze on a small file most of all) would load for nothing.
      const { startSidecar } = await import('../sidecar/sidecar.js');
      const running = await startSidecar(options);
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        void running.close().then(() => process.exit(0));
      };
      // Before the line that says it serves: a supervisor (or a test) that stops it on that line
      // must find the handlers in place, not the default action (killed by the signal, exit code lost).
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.stderr.write(`latency-doctor sidecar: serving ${running.url}/metrics (period ${flags.period} ms)\n`);
    });
}
