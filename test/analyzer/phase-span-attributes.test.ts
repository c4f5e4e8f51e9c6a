/**
 * The fast reader keeps only PHASE_SPAN_ATTRIBUTES (semconv.ts) on a phase span when the
 * analyzer reads (`attributes: 'analysis'`). This checks that list against what the analyzer
 * reads from a phase span: classifying it, the source-convention layer and the assembler, with
 * the attributes behind a Proxy that records every key looked up (or a spread / key listing).
 */
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/analyzer/_span-columns.js';
import { RequestAssembler } from '../../src/analyzer/assemble.js';
import { ConventionMapper } from '../../src/analyzer/conventions/index.js';
import type { AttributeValue, SpanKind, SpanRecord } from '../../src/model/span.js';
import { ATTR, PHASE_SPAN_ATTRIBUTES, PHASES } from '../../src/semconv.js';

/** Attributes that record which keys are read; listing them all records '*'. */
function recording(attributes: Record<string, AttributeValue>): { proxy: Record<string, AttributeValue>; read: Set<string> } {
  const read = new Set<string>();
  const proxy = new Proxy(attributes, {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(target, key) as unknown;
    },
    has(target, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      read.add('*');
      return Reflect.ownKeys(target);
    },
  });
  return { proxy, read };
}

function phaseSpan(phase: string, kind: SpanKind, attributes: Record<string, AttributeValue>): SpanRecord {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '00f067aa0ba902b7',
    name: phase,
    service: 'svc',
    kind,
    startNs: 1_700_000_000_000_000_000n,
    endNs: 1_700_000_000_001_000_000n,
    attributes: { [ATTR.PHASE]: phase, ...attributes },
    error: false,
  };
}

describe('the attributes read from a phase span', () => {
  it.each(PHASES.flatMap((phase) => (['internal', 'client', 'server'] as const).map((kind) => [phase, kind] as const)))(
    'are all in PHASE_SPAN_ATTRIBUTES (%s, %s span)',
    (phase, kind) => {
      const plain = phaseSpan(phase, kind, { [ATTR.BATCH_SIZE]: 4, [ATTR.ROLE]: 'worker', 'http.route': '/x', 'triton.model_name': 'm' });
      const { proxy, read } = recording({ ...plain.attributes });
      const span = { ...plain, attributes: proxy };
      classify(span);
      const mapped = new ConventionMapper().map([span]);
      expect(mapped).toEqual([span]);
      const assembler = new RequestAssembler();
      assembler.add([span]);
      assembler.finish();
      expect([...read].filter((key) => !PHASE_SPAN_ATTRIBUTES.includes(key))).toEqual([]);
      expect(read.has(ATTR.PHASE)).toBe(true);
    },
  );
});
