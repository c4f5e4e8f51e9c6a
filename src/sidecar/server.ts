/**
 * @module sidecar/server
 * The sidecar's HTTP surface (express): GET /metrics (Prometheus text), GET /healthz (JSON;
 * 503 while the served sample is stale, or while collection fails before a first sample), GET /samples (recent samples as JSON; `?since=ms`,
 * `?limit=n`). Handlers only read the collector's state, so they answer even while
 * nvidia-smi is wedged.
 */
import express, { type Express } from 'express';
import type { Collector } from './collector.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus-text.js';

/** Builds the express app over a collector. */
export function createSidecarApp(collector: Collector): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(renderPrometheus(collector.snapshot()));
  });
  app.get('/healthz', (_req, res) => {
    const s = collector.snapshot();
    // Still without a first sample but already failing (e.g. NVML errors at every start): unhealthy.
    const failing = s.mode === 'starting' && Object.values(s.failures).some((n) => (n ?? 0) > 0);
    const status = s.stale ? 'stale' : failing ? 'failing' : s.mode === 'starting' ? 'starting' : s.mode === 'host-only' ? 'host-only' : 'ok';
    res.status(s.stale || failing ? 503 : 200).json({
      status,
      mode: s.mode,
      stale: s.stale,
      sampleAgeS: s.sampleAgeS ?? null,
      gpus: s.sample?.gpus.map((g) => ({ uuid: g.uuid, index: g.index ?? null, name: g.name ?? null })) ?? [],
      failures: s.failures,
      lastError: s.lastError ?? null,
      lastExitCode: s.lastExitCode ?? null,
      samplesCollected: s.samplesCollected,
      inventory: s.inventory,
    });
  });
  app.get('/samples', (req, res) => {
    const since = typeof req.query['since'] === 'string' ? Number(req.query['since']) : undefined;
    const limit = typeof req.query['limit'] === 'string' ? Number(req.query['limit']) : undefined;
    if ((since !== undefined && !Number.isFinite(since)) || (limit !== undefined && !(Number.isInteger(limit) && limit > 0))) {
      res.status(400).json({ error: 'since must be a number (ms since the epoch) and limit a positive integer' });
      return;
    }
    res.json(collector.recent(since, limit));
  });
  return app;
}
