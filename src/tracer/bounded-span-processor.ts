/**
 * @module tracer/bounded-span-processor
 * The export step's safety net: the SDK's BatchSpanProcessor behind an exporter guard that counts
 * every span that does not make it out (queue full while the collector is slow or down, export
 * failed, exporter threw) and says so once. Memory stays bounded by `maxQueueSize` plus the batch
 * in flight.
 */
import { TraceFlags } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { TRACER_METRICS } from '../semconv.js';
import { reportFailure, warnOnce } from './warn-once.js';

/** Queue and batch sizes of the processor. */
export interface BoundedProcessorOptions {
  /** Spans held while waiting for export; beyond it spans are dropped and counted. */
  readonly maxQueueSize: number;
  /** Spans per export call. */
  readonly maxExportBatchSize: number;
  /** Delay between scheduled exports, in milliseconds. */
  readonly scheduledDelayMillis: number;
  /** How long one export may take before the processor gives up on it, in milliseconds. */
  readonly exportTimeoutMillis: number;
  /** Where the spans go, for the one-time warning (an endpoint or a file). */
  readonly destination: string;
}

/** Spans lost on the way out, by reason. */
export interface DroppedSpans {
  /** Dropped because the queue was full. */
  readonly queueFull: number;
  /** Lost in failed exports (collector unreachable, file not writable, exporter threw or never answered). */
  readonly exportFailed: number;
  /** Still queued or being exported when `shutdown()` stopped waiting for them. */
  readonly unsentAtShutdown: number;
}

/** A BatchSpanProcessor that counts what it drops and never lets the exporter throw. */
export class BoundedSpanProcessor implements SpanProcessor {
  private readonly inner: BatchSpanProcessor;
  private queued = 0;
  private inFlight = 0;
  private droppedQueueFull = 0;
  private droppedExportFailed = 0;
  private droppedAtShutdown = 0;
  private abandoned = false;
  private muted = false;

  constructor(
    exporter: SpanExporter,
    private readonly options: BoundedProcessorOptions,
  ) {
    this.inner = new BatchSpanProcessor(this.guard(exporter), {
      maxQueueSize: options.maxQueueSize,
      maxExportBatchSize: Math.min(options.maxExportBatchSize, options.maxQueueSize),
      scheduledDelayMillis: options.scheduledDelayMillis,
      exportTimeoutMillis: options.exportTimeoutMillis,
    });
  }

  /** Spans dropped so far. */
  dropped(): DroppedSpans {
    return { queueFull: this.droppedQueueFull, exportFailed: this.droppedExportFailed, unsentAtShutdown: this.droppedAtShutdown };
  }

  /**
   * Counts every span still queued or being exported as lost, once: called when shutdown is
   * over or gave up waiting. Late export results are no longer counted after this.
   */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    this.droppedAtShutdown += this.queued + this.inFlight;
    this.queued = 0;
  }

  /** Stops warning (after shutdown, a late export failure is no news); counting goes on. */
  mute(): void {
    this.muted = true;
  }

  /** Spans ended and not yet delivered or counted as lost (queued, or in an export that has not answered). */
  pending(): number {
    return this.abandoned ? 0 : this.queued + this.inFlight;
  }

  /** Total spans dropped so far. */
  droppedTotal(): number {
    return this.droppedQueueFull + this.droppedExportFailed + this.droppedAtShutdown;
  }

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.abandoned) {
      this.droppedAtShutdown += 1;
      return;
    }
    // Mirrors the inner queue (spans leave it when handed to the exporter), so the drop is
    // counted here instead of inside the SDK, which only logs it at debug level.
    if (this.queued >= this.options.maxQueueSize) {
      this.droppedQueueFull += 1;
      this.warnDropping('the export queue is full');
      return;
    }
    this.queued += 1;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  private guard(exporter: SpanExporter): SpanExporter {
    const onResult = (count: number, result: ExportResult): void => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.droppedExportFailed += count;
        this.warnDropping(`export failed: ${exportError(result.error)}`);
      }
    };
    const timeoutMillis = this.options.exportTimeoutMillis;
    return {
      export: (spans, resultCallback) => {
        const count = spans.length;
        this.queued = Math.max(0, this.queued - count);
        this.inFlight += count;
        let settled = false;
        // The SDK gives up on an export that never answers without telling the exporter; count
        // those spans as lost when it does.
        const timer = setTimeout(() => {
          done({ code: ExportResultCode.FAILED, error: new Error(`no answer within ${timeoutMillis} ms`) });
        }, timeoutMillis);
        timer.unref();
        const done = (result: ExportResult): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.inFlight -= count;
          if (!this.abandoned) onResult(count, result);
          resultCallback(result);
        };
        try {
          exporter.export(spans, done);
        } catch (error) {
          done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
        }
      },
      shutdown: async () => {
        try {
          await exporter.shutdown();
        } catch (error) {
          // A failing exporter shutdown must not fail the service's shutdown.
          reportFailure('shutting down the span exporter', error);
        }
      },
      forceFlush: async () => {
        try {
          await exporter.forceFlush?.();
        } catch (error) {
          reportFailure('flushing the span exporter', error);
        }
      },
    };
  }

  private warnDropping(reason: string): void {
    if (this.muted) return;
    warnOnce(
      `dropping spans bound for ${this.options.destination} (${reason}); ` +
        `this is reported once, the count is in the ${TRACER_METRICS.SPANS_DROPPED.name} metric and tracing.droppedSpans()`,
      'spans-dropped',
    );
  }
}

/**
 * One line for an export error. gRPC's "No connection established" message ends with
 * "Resolution note: " and nothing after it when the name resolved fine; that empty tail is cut.
 */
export function exportError(error: Error | undefined): string {
  const message = error?.message ?? 'unknown error';
  const firstLine = message.split('\n')[0]!.trim();
  return firstLine.replace(/\.?\s*Resolution note:\s*$/, '') || 'unknown error';
}
