/**
 * @module sidecar/sidecar
 * Starts the whole sidecar: nvidia-smi probe + host probe → collector → HTTP server.
 */
import { open, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Collector } from './collector.js';
import { DEFAULT_PERIOD_MS, DEFAULT_SIDECAR_PORT } from './defaults.js';
import { HostProbe } from './host-probe.js';
import { NvidiaSmiProbe } from './nvidia-smi-probe.js';
import { startOtlpExport, type OtlpExport } from './otlp-export.js';
import { createSidecarApp } from './server.js';
import { LatencyDoctorError } from '../errors.js';

/** A user-facing sidecar failure (bad option, port in use); the CLI prints it as `sidecar: …` and exits 2. */
export class SidecarError extends LatencyDoctorError {
  override readonly name = 'SidecarError';

  constructor(message: string) {
    super(message, { scope: 'sidecar' });
  }
}

/** Options of startSidecar. */
export interface SidecarOptions {
  /** Address to bind. Default 127.0.0.1 (loopback only). */
  readonly host?: string;
  /** Port; 0 picks a free one. Default DEFAULT_SIDECAR_PORT. */
  readonly port?: number;
  /** Sampling period in ms. Default DEFAULT_PERIOD_MS; below 250 ms nvidia-smi's sensors only repeat values. */
  readonly periodMs?: number;
  /** JSON-lines sample file for `latency-doctor analyze`. */
  readonly samplesFile?: string;
  /** nvidia-smi executable. Default `nvidia-smi` on PATH. */
  readonly nvidiaSmi?: string;
  /** Period of the slow `-q -x` query in ms; 0 disables it. Default DEFAULT_XML_PERIOD_MS. */
  readonly xmlPeriodMs?: number;
  /** Extra time a fresh nvidia-smi child gets for its first row before the watchdog restarts it. Default DEFAULT_STARTUP_ALLOWANCE_MS. */
  readonly startupAllowanceMs?: number;
  /** Also export the metrics over OTLP/gRPC to this endpoint (e.g. http://127.0.0.1:4317). Default: off. */
  readonly otlpEndpoint?: string;
  /** OTLP export interval. Default DEFAULT_OTLP_INTERVAL_MS. */
  readonly otlpIntervalMs?: number;
  /** Environment for nvidia-smi. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Warning sink. Default stderr. */
  readonly warn?: (message: string) => void;
}

/** A running sidecar. */
export interface RunningSidecar {
  /** Base URL, e.g. http://127.0.0.1:9835. */
  readonly url: string;
  readonly collector: Collector;
  close(): Promise<void>;
}

/** Starts probes and the HTTP server; rejects with SidecarError when the address cannot be bound. */
export async function startSidecar(options: SidecarOptions = {}): Promise<RunningSidecar> {
  const periodMs = options.periodMs ?? DEFAULT_PERIOD_MS;
  if (!Number.isInteger(periodMs) || periodMs < 50) throw new SidecarError(`--period must be an integer of at least 50 ms, got ${String(options.periodMs)}`);
  const port = options.port ?? DEFAULT_SIDECAR_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SidecarError(`--port must be 0–65535, got ${String(options.port)}`);
  const host = options.host ?? '127.0.0.1';
  if (options.otlpEndpoint !== undefined && !/^https?:\/\/[^/]+/.test(options.otlpEndpoint)) {
    throw new SidecarError(`--otlp-endpoint must be an http(s):// URL such as http://127.0.0.1:4317, got "${options.otlpEndpoint}"`);
  }
  // A FIFO is not opened here: the open would wait for a reader before anything is served, and
  // closing it again would hand that reader an end of file. The collector opens it once, in the background.
  const fifo = options.samplesFile !== undefined && (await stat(options.samplesFile).then((s) => s.isFIFO(), () => false));
  if (options.samplesFile !== undefined && !fifo) {
    // An unwritable sample file is an option mistake: said at start, not as a warning once nvidia-smi runs.
    const file = options.samplesFile;
    await open(file, 'a').then(
      (handle) => handle.close(),
      (error: NodeJS.ErrnoException) => {
        throw new SidecarError(`cannot write --samples-file ${file}: ${error.code ?? error.message}`);
      },
    );
  }
  const probe = new NvidiaSmiProbe({
    periodMs,
    ...(options.nvidiaSmi !== undefined ? { command: options.nvidiaSmi } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.xmlPeriodMs !== undefined ? { xmlPeriodMs: options.xmlPeriodMs } : {}),
    ...(options.startupAllowanceMs !== undefined ? { startupAllowanceMs: options.startupAllowanceMs } : {}),
  });
  const collector = new Collector(probe, new HostProbe(), {
    periodMs,
    ...(options.samplesFile !== undefined ? { samplesFile: options.samplesFile } : {}),
    ...(options.warn !== undefined ? { warn: options.warn } : {}),
  });
  const app = createSidecarApp(collector);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host);
    s.once('listening', () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) => reject(new SidecarError(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`)));
  });
  collector.start();
  const otlp: OtlpExport | undefined =
    options.otlpEndpoint === undefined
      ? undefined
      : startOtlpExport(collector, {
          endpoint: options.otlpEndpoint,
          warn: options.warn ?? ((message) => process.stderr.write(`latency-doctor sidecar: warning: ${message}\n`)),
          ...(options.otlpIntervalMs !== undefined ? { intervalMs: options.otlpIntervalMs } : {}),
        });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    collector,
    close: () => {
      closing ??= (async () => {
        await collector.close();
        await otlp?.shutdown().catch(() => undefined);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
