/**
 * @module formats/_json-stream
 * Internal. Streams the elements of a large single JSON document with stream-json instead of
 * parsing it whole: each element of `resourceSpans` / `resource_spans` / `batches` (also under
 * `result` or `trace`), of Jaeger's `data`, or of a top-level array (Zipkin spans or traces,
 * Jaeger span arrays) is assembled on its own, converted and dropped, so memory is bounded by
 * the largest element, not the document. stream-json keeps number tokens as text until they
 * are assembled; the assembled values are the same as JSON.parse's.
 */

import { pipeline, Readable } from 'node:stream';
import { TraceFormatError } from './errors.js';

/** Paths (dot-separated, as stream-json's filters see them) of the elements that are streamed. */
const ELEMENT_PATH =
  /^(?:(?:resourceSpans|resource_spans|batches|data|result\.resourceSpans|result\.resource_spans|trace\.resourceSpans|trace\.resource_spans|trace\.batches)\.)?\d+$/;

/** One streamed element. */
export interface StreamedElement {
  /** 0-based position among all streamed elements. */
  readonly index: number;
  readonly value: unknown;
}

/**
 * Yields the elements of a JSON document read from `source`. Throws TraceFormatError on a syntax
 * error, with the byte offset reached when it was found.
 */
export async function* streamElements(file: string, source: AsyncIterable<Buffer>): AsyncGenerator<StreamedElement> {
  let fed = 0;
  let ended = false;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      fed += chunk.length;
      yield chunk;
    }
    ended = true;
  }
  // Loaded here, not at the top: only documents too large to parse whole need stream-json, and
  // loading it costs every run of the CLI ~45 ms of CPU (about 1.5% of a 200 MB analysis).
  const [{ default: pick }, { default: streamValues }] = await Promise.all([
    import('stream-json/filters/pick.js'),
    import('stream-json/streamers/stream-values.js'),
  ]);
  // jsonStreaming: JSON lines and concatenated documents stream too (values one after another).
  const picker = pick.withParserAsStream({ filter: ELEMENT_PATH, jsonStreaming: true });
  const values = streamValues.asStream();
  pipeline(Readable.from(counted()), picker, values, () => {
    // Errors surface through the iteration below.
  });
  let index = 0;
  try {
    for await (const item of values as AsyncIterable<{ value: unknown }>) {
      yield { index, value: item.value };
      index++;
    }
  } catch (error) {
    if (error instanceof TraceFormatError) throw error;
    const message = (error as Error).message;
    throw new TraceFormatError(
      file,
      `byte ${fed}`,
      'valid JSON',
      ended ? 'end of file (truncated?)' : `a syntax error (${message.replace(/^Parser (has|cannot parse input: )?/i, '').trim()})`,
    );
  } finally {
    values.destroy();
  }
}
