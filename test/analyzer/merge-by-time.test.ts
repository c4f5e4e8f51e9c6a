/**
 * Several trace files merged by span start time (analyzeFiles' mergeByTime) whose time order
 * restarts inside a file: `cat` or `jq -s` of several pods' exports of one period. The phase
 * spans of the demo export, three times over (each copy its own trace ids), are one file; the
 * request spans of the same traces another. The merge must not depend on how a reader batches
 * its spans: the fast reader (a one-line document handed on 2 048 spans at a time, or through
 * the sliding window) and the full reader (the whole line at once) give one analysis, and no
 * phase span reaches the assembler after its request's trace was closed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles, MERGE } from '../../src/analyzer/files.js';
import type { AnalysisResult } from '../../src/model/analysis.js';
import { ATTR } from '../../src/semconv.js';
import { OTLP_DEMO, tempDir, withWindow } from '../formats/helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface OtlpSpan {
  readonly attributes?: readonly { readonly key: string }[];
}
interface OtlpDocument {
  readonly resourceSpans: readonly { readonly scopeSpans: readonly { readonly spans: readonly OtlpSpan[] }[] }[];
}

/** The demo export `copies` times over, one copy after the other (each with its own trace ids), split into its phase spans' documents and the rest's. */
function demoCopies(copies: number): { phases: OtlpDocument[]; requests: OtlpDocument[] } {
  const lines = readFileSync(fileURLToPath(OTLP_DEMO), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const isPhase = (span: OtlpSpan): boolean => (span.attributes ?? []).some((a) => a.key === ATTR.PHASE);
  const keep = (doc: OtlpDocument, take: (span: OtlpSpan) => boolean): OtlpDocument => ({
    resourceSpans: doc.resourceSpans.map((r) => ({ ...r, scopeSpans: r.scopeSpans.map((s) => ({ ...s, spans: s.spans.filter(take) })) })),
  });
  const phases: OtlpDocument[] = [];
  const requests: OtlpDocument[] = [];
  for (let copy = 0; copy < copies; copy++) {
    for (const line of lines) {
      // The demo's trace ids all start with 0000: the copy's number in their place keeps them apart.
      const doc = JSON.parse(line.replaceAll('"traceId":"0000', `"traceId":"${copy.toString(16).padStart(4, '0')}`)) as OtlpDocument;
      phases.push(keep(doc, isPhase));
      requests.push(keep(doc, (span) => !isPhase(span)));
    }
  }
  return { phases, requests };
}

const oneDocument = (docs: readonly OtlpDocument[]): OtlpDocument => ({ resourceSpans: docs.flatMap((d) => d.resourceSpans) });
const jsonLines = (docs: readonly OtlpDocument[]): string => `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`;

const COPIES = 3;
const REQUESTS = 220 * COPIES;
const { phases, requests } = demoCopies(COPIES);
/** Each layout: [phase file, request file]. */
const LAYOUTS: Record<string, readonly [string, string]> = {
  'phases one OTLP document on one line, requests JSON lines': [tmp.write('phases.oneline.json', JSON.stringify(oneDocument(phases))), tmp.write('requests.jsonl', jsonLines(requests))],
  'phases pretty-printed (jq -s), requests JSON lines': [tmp.write('phases.pretty.json', `${JSON.stringify(oneDocument(phases), null, 2)}\n`), tmp.write('requests-2.jsonl', jsonLines(requests))],
  'phases JSON lines, requests one document on one line': [tmp.write('phases.jsonl', jsonLines(phases)), tmp.write('requests.oneline.json', JSON.stringify(oneDocument(requests)))],
};

function lateSpans(result: AnalysisResult): number {
  return result.warnings.find((w) => w.code === 'late-span')?.count ?? 0;
}

/** Expects the fast reader's analysis to be the full reader's, every figure and warning (the files' fast-reader counts aside). */
function expectSame(fast: AnalysisResult, full: AnalysisResult): void {
  const { files, ...rest } = fast;
  const { files: fullFiles, ...fullRest } = full;
  expect(rest).toEqual(fullRest);
  expect(files.map(({ fastReader: _f, ...f }) => f)).toEqual(fullFiles.map(({ fastReader: _f, ...f }) => f));
}

describe('several files merged by time, one of them restarting its time order', () => {
  for (const [layout, files] of Object.entries(LAYOUTS)) {
    it(`${layout}: the fast reader gives the full reader's analysis, every request with its phases and no late span`, async () => {
      const fast = await analyzeFiles(files, { diagnose: false });
      const full = await analyzeFiles(files, { reader: 'full', diagnose: false });
      expect(fast.requests).toBe(REQUESTS);
      expect(lateSpans(fast)).toBe(0);
      expect(fast.overall?.phases.queue?.present).toBe(REQUESTS);
      expectSame(fast, full);
    });
  }

  it('through a sliding window of a few KiB (many small reads and batches): the same analysis, no late span', async () => {
    const files = LAYOUTS['phases one OTLP document on one line, requests JSON lines']!;
    const full = await analyzeFiles(files, { reader: 'full', diagnose: false });
    for (const sizes of [
      { windowBytes: 4096, aheadBytes: 2048 },
      { windowBytes: 700, aheadBytes: 200 },
    ]) {
      const fast = await withWindow(sizes, () => analyzeFiles(files, { diagnose: false }));
      expect(lateSpans(fast)).toBe(0);
      expectSame(fast, full);
    }
  });

  it('a merge unit smaller than the reader batches (a restart farther apart than the unit): both readers still agree, late spans and all', async () => {
    const saved = { ...MERGE };
    // Blocks of 100 spans, units of 300 at most a file: the fast reader's 2 048-span batches and the full reader's one of 4 620 each cut across several.
    Object.assign(MERGE, { block: 100, spans: 600 });
    try {
      for (const files of Object.values(LAYOUTS)) {
        const fast = await analyzeFiles(files, { diagnose: false });
        const full = await analyzeFiles(files, { reader: 'full', diagnose: false });
        expect(fast.requests).toBe(REQUESTS);
        // Too small a unit to see the restarts whole: late spans, the same for both readers.
        expect(lateSpans(fast)).toBeGreaterThan(0);
        expectSame(fast, full);
        // What the late-span warning advises: a longer idle window, which now holds complete-looking traces longer too.
        expect(fast.warnings.find((w) => w.code === 'late-span')?.message).toMatch(/raise --idle-spans/);
        const patient = await analyzeFiles(files, { diagnose: false, idleSpans: 1_000_000 });
        expect(lateSpans(patient)).toBe(0);
        expect(patient.overall?.phases.queue?.present).toBe(REQUESTS);
      }
    } finally {
      Object.assign(MERGE, saved);
    }
  });
});
