/**
 * @module cli/_collect
 * A full garbage collection between the analysis's stages, in the analysis child only (its
 * supervisor starts it with `--expose-gc`, cli/supervise.ts). Once the spans are assembled into
 * requests, the readers' buffers and the assembler's trace window are garbage, and much of it is
 * memory outside V8's heap (ArrayBuffers) that V8 collects only once enough more is allocated:
 * the summaries and the diagnosis then allocate beside it instead of in its place. Collected
 * there (a 7-10 ms pause), the peak RSS of a 1 GB export fell from 146 to 135-136 MB and of 250
 * MB from 101-103 to 97-98 MB (the bench's analysis child, alternating rounds), no slower
 * (docs/analyzer.md, "Garbage between the stages"). "Node.js command-line options: --expose-gc",
 * https://nodejs.org/api/cli.html#--expose-gc
 */

/** The analysis's `collect` option: V8's `gc` where the process was started with `--expose-gc` (the analysis child), else none. */
export function collectOption(scope: { gc?: unknown } = globalThis): { collect?: () => void } {
  const gc = scope.gc;
  return typeof gc === 'function' ? { collect: () => void gc() } : {};
}
