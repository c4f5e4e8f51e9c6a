/**
 * @module analyzer/convention
 * The seam where a serving system's own traces meet the span convention (docs/conventions.md).
 * Triton, vLLM, TGI and TorchServe each trace requests their own way (span names, attributes,
 * which span is the request); a ConventionMapping rewrites those spans into the convention, a
 * request span carrying `inference.model.name` with phase spans under it, before the assembler
 * sees them. The pipeline (analyzer/pipeline.ts) runs every batch of spans through the mappings
 * it is given, between the readers and the assembler; with none, spans pass through unchanged.
 */
import type { SpanRecord } from '../model/span.js';

/** Maps one serving system's spans onto the span convention. */
export interface ConventionMapping {
  /** The serving system, e.g. `triton`, `vllm`; reported in AnalysisResult.servers and given to the diagnosis as `server`. */
  readonly server: string;
  /**
   * This system's spans in `spans`, rewritten onto the convention, together with every other
   * span unchanged; `undefined` when none of them is this system's. Must not mutate `spans`.
   * Spans of one trace may arrive over several batches (see AssembleOptions.idleSpans).
   */
  map(spans: readonly SpanRecord[]): readonly SpanRecord[] | undefined;
}

/** Runs span batches through the mappings and remembers which applied. */
export class ConventionStage {
  private readonly applied = new Set<string>();

  constructor(private readonly mappings: readonly ConventionMapping[]) {}

  /** True when there is nothing to map (the spans already follow the convention). */
  get empty(): boolean {
    return this.mappings.length === 0;
  }

  /** `spans` with every mapping applied in order. */
  map(spans: readonly SpanRecord[]): readonly SpanRecord[] {
    let out = spans;
    for (const mapping of this.mappings) {
      const mapped = mapping.map(out);
      if (mapped === undefined) continue;
      this.applied.add(mapping.server);
      out = mapped;
    }
    return out;
  }

  /** Serving systems whose mapping applied to at least one batch, in the order of the mappings. */
  servers(): string[] {
    return this.mappings.map((m) => m.server).filter((s, i, all) => this.applied.has(s) && all.indexOf(s) === i);
  }
}
