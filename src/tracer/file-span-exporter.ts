/**
 * @module tracer/file-span-exporter
 * The export step without a collector: each exported batch becomes one line of OTLP JSON
 * (`{"resourceSpans":[…]}`) appended to a local file, the layout of the Collector's file exporter,
 * so `latency-doctor analyze` reads this file and a Collector's alike.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { spansToTracesData } from './otlp-json.js';
import { warnOnce } from './warn-once.js';

/** Default trace file, relative to the working directory. */
export const DEFAULT_TRACE_FILE = './traces.jsonl';

/**
 * Appends OTLP JSON lines to a file; write errors fail the export (and warn once), never throw.
 * A failure is not final: the next export opens the file afresh, so a disk that was full, or a
 * directory that could not be made, loses only the spans of the exports that failed.
 */
export class FileSpanExporter implements SpanExporter {
  private stream: WriteStream | undefined;
  private pending = 0;
  private idle: (() => void)[] = [];
  private shut = false;

  /** `path`: the file to append to (created with its directory when missing). */
  constructor(readonly path: string = DEFAULT_TRACE_FILE) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.shut || spans.length === 0) {
      resultCallback({ code: this.shut ? ExportResultCode.FAILED : ExportResultCode.SUCCESS });
      return;
    }
    let line: string;
    try {
      line = `${JSON.stringify(spansToTracesData(spans))}\n`;
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
      return;
    }
    const stream = this.open();
    if (stream === undefined) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error(`cannot write ${this.path}`) });
      return;
    }
    this.pending += 1;
    stream.write(line, (error) => {
      this.pending -= 1;
      if (error) this.fail(error, stream);
      resultCallback(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS });
      if (this.pending === 0) this.idle.splice(0).forEach((resolve) => resolve());
    });
  }

  /** Resolves when every line handed to the stream so far is written. */
  forceFlush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Flushes and closes the file. */
  async shutdown(): Promise<void> {
    if (this.shut) return;
    await this.forceFlush();
    this.shut = true;
    const stream = this.stream;
    this.stream = undefined;
    if (stream !== undefined && !stream.destroyed) {
      await new Promise<void>((resolve) => stream.end(() => resolve()));
    }
  }

  private open(): WriteStream | undefined {
    if (this.stream !== undefined && !this.stream.destroyed) return this.stream;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const stream = createWriteStream(this.path, { flags: 'a' });
      // Without a listener an 'error' event would crash the service.
      stream.on('error', (error) => this.fail(error, stream));
      this.stream = stream;
      return stream;
    } catch (error) {
      this.fail(error, undefined);
      return undefined;
    }
  }

  /** Warns once; a failed stream is let go of, so the next export opens the file again. */
  private fail(error: unknown, stream: WriteStream | undefined): void {
    if (stream !== undefined && this.stream === stream) {
      this.stream = undefined;
      stream.destroy();
    }
    const reason = error instanceof Error ? error.message : String(error);
    warnOnce(`cannot write trace file ${this.path} (${reason}); spans are dropped until it can be written again`, `file:${this.path}`);
  }
}
