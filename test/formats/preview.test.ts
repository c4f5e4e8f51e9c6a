/**
 * What a document starts with, previewed from bytes that end inside it (formats/_byte-scan.ts,
 * previewJson): detection tells a document's family from its first 64 KiB, and a pipe gives
 * them 64 KiB at a time, so the bytes end where a read did.
 */

import { describe, expect, it } from 'vitest';
import { previewJson } from '../../src/formats/_byte-scan.js';

describe('previewing a document from bytes that end inside it (a pipe gives 64 KiB at a time)', () => {
  const doc = Buffer.from(JSON.stringify({ data: [{ traceID: 'ab'.repeat(8), spans: [{ spanID: 'cd'.repeat(8), flag: true, n: -12.5e3, tags: [{ key: 'k\\"ey', value: 'v'.repeat(40) }] }] }] }));

  it('every cut gives what the whole document starts with, never "not JSON"', () => {
    const whole = previewJson(doc, 0, doc.length, doc.length);
    expect(whole).toEqual(JSON.parse(doc.toString()));
    for (let end = 2; end < doc.length; end++) {
      const preview = previewJson(doc.subarray(0, end), 0, end, 64 * 1024);
      expect(preview, `cut at ${end}: ${doc.toString('utf8', 0, end)}`).toMatchObject({});
      // Keys are kept only with their value: the envelope's key is there once its array begins.
      if (end > doc.indexOf('[')) expect(Object.keys(preview as object), `cut at ${end}`).toEqual(['data']);
    }
  });

  it('bytes that are not JSON before the cut are still refused', () => {
    const bad = Buffer.from('{"data":[{"traceID":x');
    expect(previewJson(bad, 0, bad.length, 64 * 1024)).toBeUndefined();
  });
});
