/**
 * The one definition of TTFT, TPOT and tokens/s (src/model/generation.ts), on the numbers of a
 * real vLLM request span shape: durations without start times, and timestamps with them.
 */
import { describe, expect, it } from 'vitest';
import { clampTtft, isGenerative, outputTokensPerSecond, timePerOutputTokenMs, timeToFirstTokenMs, tokenCount } from '../../src/model/generation.js';

describe('generation definitions', () => {
  it('TTFT from timestamps is first token − request start, clamped to the e2e interval', () => {
    const start = 1_700_000_000_000_000_000n;
    expect(timeToFirstTokenMs(start, start + 125_500_000n)).toBe(125.5);
    expect(timeToFirstTokenMs(start, start - 1_000_000n)).toBe(0);
    expect(timeToFirstTokenMs(start, start + 900_000_000n, 800)).toBe(800);
    expect(clampTtft(-3)).toBe(0);
    expect(clampTtft(40, 30)).toBe(30);
  });

  it('TPOT = (e2e − TTFT) ÷ (output tokens − 1), from durations alone', () => {
    // e2e 2.1 s, TTFT 0.1 s, 101 tokens: 100 gaps of 20 ms.
    expect(timePerOutputTokenMs(2100, 100, 101)).toBeCloseTo(20, 10);
    expect(timePerOutputTokenMs(2100, 100, 2)).toBe(2000);
  });

  it('TPOT is undefined below two output tokens or without a first token', () => {
    expect(timePerOutputTokenMs(100, 50, 1)).toBeUndefined();
    expect(timePerOutputTokenMs(100, 50, 0)).toBeUndefined();
    expect(timePerOutputTokenMs(100, undefined, 10)).toBeUndefined();
    expect(timePerOutputTokenMs(100, 50, undefined)).toBeUndefined();
  });

  it('TPOT is undefined when no time passed after the first token: the tokens came in one piece, no decode was timed', () => {
    // A first chunk at (or, in a damaged record, after) the end: a 0 ms TPOT would pull the percentiles down.
    expect(timePerOutputTokenMs(100, 150, 11)).toBeUndefined();
    expect(timePerOutputTokenMs(100, 100, 11)).toBeUndefined();
    expect(timePerOutputTokenMs(100, 99.5, 11)).toBeCloseTo(0.05, 10);
  });

  it('tokens/s is output tokens over the duration in seconds', () => {
    expect(outputTokensPerSecond(50, 2000)).toBe(25);
    expect(outputTokensPerSecond(50, 0)).toBeUndefined();
    expect(outputTokensPerSecond(undefined, 1000)).toBeUndefined();
  });

  it('token counts accept numbers and numeric strings (Zipkin tags), reject the rest', () => {
    expect(tokenCount(12)).toBe(12);
    expect(tokenCount('12')).toBe(12);
    expect(tokenCount(-1)).toBeUndefined();
    expect(tokenCount('x')).toBeUndefined();
    expect(tokenCount(Number.NaN)).toBeUndefined();
    expect(tokenCount(true)).toBeUndefined();
  });

  it('a request is generative when it has a first token or an output count', () => {
    expect(isGenerative({})).toBe(false);
    expect(isGenerative({ tokensIn: 5 })).toBe(false);
    expect(isGenerative({ ttftMs: 3 })).toBe(true);
    expect(isGenerative({ tokensOut: 0 })).toBe(true);
  });
});
