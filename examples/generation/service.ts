/**
 * @module examples/generation/service
 * A streaming generation service: POST /generate {"prompt": [token ids], "max_tokens": n}
 * answers with Server-Sent Events, one `data: <token>` per token and `event: done` at the end.
 * Every request is traced with the tracer's generation API: queue (waiting for the scheduler),
 * prefill (up to the first token), decode (the rest), token counts, the prompt-prefix hash
 * (`inference.input.hash`) and the prompt tokens the prefix cache served.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createInferenceTracer, expressMiddleware } from '../../src/tracer/index.js';
import type { InferenceTracer } from '../../src/tracer/index.js';
import type { LmSession } from './lm-session.js';
import { Scheduler, promptPrefix, type SchedulerOptions } from './scheduler.js';

/** A running service. */
export interface GenerationService {
  readonly url: string;
  readonly scheduler: Scheduler;
  close(): Promise<void>;
}

/** The model name every request span carries. */
export const GENERATION_MODEL = 'tiny-lm';

function validPrompt(body: unknown, vocab: number): { prompt: number[]; maxTokens: number } | string {
  if (typeof body !== 'object' || body === null) return 'a JSON body {"prompt": [token ids], "max_tokens": n}';
  const { prompt, max_tokens: maxTokens } = body as { prompt?: unknown; max_tokens?: unknown };
  if (!Array.isArray(prompt) || prompt.length === 0 || !prompt.every((t) => Number.isInteger(t) && t >= 0 && t < vocab)) return `"prompt": a non-empty array of token ids below ${vocab}`;
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1 || (maxTokens as number) > 4096) return '"max_tokens": an integer from 1 to 4096';
  return { prompt: prompt as number[], maxTokens: maxTokens as number };
}

/** Starts the service on 127.0.0.1 (port 0 unless given) with its own scheduler over `lm`. */
export async function startGenerationService(lm: LmSession, options: SchedulerOptions & { readonly port?: number; readonly tracer?: InferenceTracer }): Promise<GenerationService> {
  const scheduler = new Scheduler(lm, options);
  const tracer = options.tracer ?? createInferenceTracer({ model: GENERATION_MODEL, runtime: 'onnxruntime', runtimeProvider: 'CPUExecutionProvider', precision: 'fp32', device: 'cpu', hashInputs: true });
  const app = express();
  app.use(expressMiddleware());
  app.use(express.json({ limit: '1mb' }));
  app.post('/generate', (httpReq, res) => {
    const body = validPrompt(httpReq.body, lm.spec.vocab);
    if (typeof body === 'string') {
      res.status(400).json({ error: `expected ${body}` });
      return;
    }
    void tracer.generate(async (req) => {
      req.setInputTokens(body.prompt.length);
      const prefix = promptPrefix(body.prompt);
      if (prefix.length > 0) req.setInputHash(prefix.hash);
      const generation = scheduler.submit(body.prompt, body.maxTokens);
      await req.queue(() => generation.admitted);
      const first = await req.prefill(() => generation.firstToken);
      req.setCachedTokens(generation.cachedTokens);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(`data: ${first}\n\n`);
      req.token();
      await req.decode(async () => {
        for await (const token of generation.rest) {
          res.write(`data: ${token}\n\n`);
          req.token();
        }
      }, generation.decodeBatch);
      res.end('event: done\ndata: \n\n');
    }).catch((error: unknown) => {
      if (!res.headersSent) res.status(500).json({ error: String(error) });
      else res.end();
    });
  });
  const server: Server = app.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    scheduler,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
