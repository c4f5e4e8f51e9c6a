import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIX_IDS } from '../../src/semconv.js';
import { ALL_RULE_INPUTS, RULES, RULE_INPUTS, THRESHOLD_SPECS, computeSignals, defineRule, diagnose, diagnoseSignals, resolveThresholds, ruleFor } from '../../src/analyzer/diagnose/index.js';
import type { RuleInput } from '../../src/analyzer/diagnose/index.js';
import { SIGNAL_THRESHOLDS } from '../../src/analyzer/diagnose/signals.js';
import { withGeneratedTables } from '../../src/report/diagnosis-tables.js';
import { generate, summarize } from './gen.js';
import { BOTTLENECKS } from './scenarios.js';

describe('rule registry', () => {
  it('holds exactly one rule per fix id, and nothing else', () => {
    for (const id of FIX_IDS) expect(RULES.filter((r) => r.id === id).length, id).toBe(1);
    expect(RULES.length).toBe(FIX_IDS.length);
    for (const id of FIX_IDS) expect(ruleFor(id).id).toBe(id);
  });

  it('builds THRESHOLD_SPECS from the signal stage and the rules, each key from one spec', () => {
    const declared = new Map<string, unknown>(Object.entries(SIGNAL_THRESHOLDS));
    for (const rule of RULES) {
      expect(rule.thresholdKeys.length, rule.id).toBeGreaterThan(0);
      for (const key of rule.thresholdKeys) {
        const spec = rule.thresholds[key];
        // A key shared by several rules (compute.min_share_of_server) is one object, not a copy.
        if (declared.has(key)) expect(declared.get(key), `${rule.id}: ${key}`).toBe(spec);
        declared.set(key, spec);
        expect(THRESHOLD_SPECS[key as keyof typeof THRESHOLD_SPECS], key).toBe(spec);
      }
    }
    expect(Object.keys(THRESHOLD_SPECS).sort()).toEqual([...declared.keys()].sort());
  });

  it('gives every rule a title, honest needs and a known effort', () => {
    for (const rule of RULES) {
      expect(rule.content.title.length, rule.id).toBeGreaterThan(10);
      for (const title of Object.values(rule.content.kinds ?? {})) expect(title.length).toBeGreaterThan(10);
      for (const input of [...rule.needs.inputs, ...rule.needs.refinedBy]) expect(Object.keys(RULE_INPUTS), rule.id).toContain(input);
      expect(rule.input).toBe(rule.needs.inputs.some((i) => RULE_INPUTS[i].perRequestOnly) ? 'requests' : 'aggregates-ok');
    }
    // The drift rule runs on time windows; on aggregates (query_range steps) the load trend is
    // Mann-Kendall on the step rates instead of the Laplace test on every arrival.
    expect(ruleFor('latency-drift').input).toBe('aggregates-ok');
    expect(ruleFor('latency-drift').needs.refinedBy).toContain('arrival-times');
    expect(ruleFor('dynamic-batching').input).toBe('aggregates-ok');
  });
});

describe('docs/diagnosis.md', () => {
  const doc = readFileSync('docs/diagnosis.md', 'utf8');

  it('carries the tables built from the registry (npm run docs:tables)', () => {
    expect(withGeneratedTables(doc)).toBe(doc);
  });

  it('describes every rule in the verdicts table', () => {
    const verdicts = doc.slice(doc.indexOf('## The verdicts'), doc.indexOf('### What each rule needs'));
    const ids = [...verdicts.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(ids.sort()).toEqual([...FIX_IDS].sort());
  });
});

describe('rules that cannot run on the input', () => {
  const requests = generate(BOTTLENECKS[0]!.spec);
  const input = { model: 'm', requests, summary: summarize(requests) };

  it('say "could not run: needs …" and are not evaluated', () => {
    // What metrics give: no per-request inputs, no model attributes (span attributes, not labels).
    const available = new Set<RuleInput>([...ALL_RULE_INPUTS].filter((i) => !RULE_INPUTS[i].perRequestOnly && i !== 'model-attributes'));
    const d = diagnose({ ...input, available });
    const prune = d.rules.find((r) => r.rule === 'prune-distill');
    expect(prune).toMatchObject({ fired: false, skipped: 'missing-input', inputs: {} });
    expect(prune?.reason).toMatch(/^could not run: needs inputs this source lacks \(runtime, execution provider, precision and device/);
    expect(d.rules.find((r) => r.rule === 'latency-drift')?.skipped).toBeUndefined();
    // Rules that aggregates can feed still run and reach the same verdict.
    expect(d.primary).toBe(diagnose(input).primary);
    expect(d.rules.find((r) => r.rule === 'dynamic-batching')?.skipped).toBeUndefined();
  });

  it('with every input, no rule is skipped', () => {
    expect(diagnose(input).rules.filter((r) => r.skipped !== undefined)).toEqual([]);
  });
});

describe('defineRule', () => {
  const rule = defineRule({
    id: 'scale-and-cache',
    effort: 'config',
    needs: { inputs: ['input-hashes'], refinedBy: [], gpu: 'unused' },
    content: { title: 'Plain title of the fix', kinds: { cache: 'Title of the cache arm' } },
    thresholds: { 'toy.limit': { value: 2, unit: 'ms', source: 'ours', why: 'a toy rule for this test' } },
    verdict: ({ thresholds, server }) =>
      thresholds['toy.limit'] > 1
        ? { inputs: { server: server ?? null }, reason: `fired for ${server ?? 'no server'}`, finding: { kind: 'cache', confidence: 0.5, evidence: [], savedMeanMs: 1, nextStep: { text: 'x' }, exampleTraceIds: [] } }
        : { inputs: {}, reason: 'limit too low' },
  });
  const signals = {} as Parameters<typeof rule.evaluate>[0]['signals'];

  it('fills the outcome with the rule id and the thresholds it declared, and the title from the kind', () => {
    const r = rule.evaluate({ signals, thresholds: { 'toy.limit': 3 }, fired: new Set(), server: 'vllm' });
    expect(r.outcome).toEqual({ rule: 'scale-and-cache', inputs: { server: 'vllm' }, thresholds: { 'toy.limit': 3 }, fired: true, reason: 'fired for vllm' });
    expect(r.finding?.title).toBe('Title of the cache arm');
    expect(rule.input).toBe('requests');
  });

  it('does not fire without a finding', () => {
    const r = rule.evaluate({ signals, thresholds: { 'toy.limit': 0 }, fired: new Set() });
    expect(r.outcome.fired).toBe(false);
    expect(r.finding).toBeUndefined();
  });
});

describe('diagnoseSignals (the rules stage on signals an adapter computed)', () => {
  it('gives what diagnose gives for the same signals, and honours available inputs', () => {
    const requests = generate(BOTTLENECKS[0]!.spec);
    const input = { model: 'm', requests, summary: summarize(requests) };
    const thresholds = resolveThresholds();
    const signals = computeSignals(input, thresholds);
    expect(diagnoseSignals(signals, { thresholds })).toEqual(diagnose(input));
    const noArrivals = diagnoseSignals(signals, { thresholds, available: new Set<RuleInput>(['phase-distributions', 'concurrency']) });
    expect(noArrivals.rules.filter((r) => r.skipped === 'missing-input').map((r) => r.rule).sort()).toEqual(['latency-drift', 'prune-distill', 'scale-and-cache']);
    expect(noArrivals.primary).toBe('dynamic-batching');
  });
});
