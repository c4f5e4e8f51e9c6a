/**
 * Overhead of the tracer per request with all seven phases, measured in one run against
 * (a) the bare function and (b) the same spans written by hand with @opentelemetry/api on the
 * same SDK setup (same processor, an exporter that discards). Then the same with the phase
 * histograms on, against hand-written spans plus the same histogram records.
 * Then a request the sampler drops, twice: in a process of its own that records nothing (a
 * service whose sampler drops every request) and in the process that just recorded the parts
 * above (a sampler that keeps some: there the JIT and the garbage collector carry what recording
 * left behind, and the same request costs about twice as much). Like with like: the same span
 * names, kinds and attributes, the same sampler and processor. One run measures every variant of
 * a part in one process, in interleaved rounds whose order alternates round by round, so the
 * machine's load hits all alike (separate processes differed up to 2× on the shared machine);
 * it reports CPU µs per request (median round) and the median of the per-round ratios of added
 * cost. Several runs, each in fresh processes, then give the medians over runs. The goals: at
 * or below the hand-written cost, and under 1 µs per unsampled request.
 * A third process measures the check every wrapped call makes on an object it returns (is it the
 * request's own token stream? `deferToStream`, a WeakMap lookup): the same request with phases
 * returning objects against phases returning numbers, each against its bare function.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { metrics, SpanKind, trace } from '@opentelemetry/api';
import type { Attributes, Histogram, Tracer } from '@opentelemetry/api';
import { AlwaysOffSampler, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { ATTR, PHASES, TRACER_METRICS } from '../src/semconv.js';
import type { Phase } from '../src/semconv.js';
import { createInferenceTracer, DURATION_BUCKETS_SECONDS, setupTracing } from '../src/tracer/index.js';
import type { InferenceTracer } from '../src/tracer/index.js';
import { deferToStream } from '../src/tracer/stream-end.js';
import { CollectingReader as IdleReader, discardSpans as discard } from '../test/support/telemetry-sinks.js';

const REQUESTS_PER_ROUND = 500;
/**
 * Rounds of requests that cost about 1 µs must still take tens of milliseconds: the kernel
 * may account CPU time in scheduler ticks, and a sub-millisecond round would read as 0 or a tick.
 */
const CHEAP_REQUESTS_PER_ROUND = 20_000;
const ROUNDS = 40;
const MODEL = { model: 'resnet50', version: '1', runtime: 'onnxruntime', runtimeProvider: 'CPUExecutionProvider', precision: 'fp32', device: 'cpu' } as const;
const REQUEST_ATTRIBUTES: Attributes = {
  [ATTR.MODEL_NAME]: MODEL.model,
  [ATTR.MODEL_VERSION]: MODEL.version,
  [ATTR.RUNTIME]: MODEL.runtime,
  [ATTR.RUNTIME_PROVIDER]: MODEL.runtimeProvider,
  [ATTR.PRECISION]: MODEL.precision,
  [ATTR.DEVICE]: MODEL.device,
};

/**
 * The seven phases `ours` calls, in its order: the hand-written variants write the same spans.
 * (PHASES also has the generation phases, which a classifier request does not run.)
 */
const REQUEST_PHASES: readonly Phase[] = ['preprocess', 'serialize', 'network', 'queue', 'transfer', 'compute', 'postprocess'];

let sink = 0;
/** A phase's own work: tiny, so what is measured is the instrumentation. */
function work(x: number): number {
  return (x * 31 + 7) % 1009;
}

function bare(i: number): number {
  let x = i;
  for (let p = 0; p < REQUEST_PHASES.length; p += 1) x = work(x);
  return x;
}

function ours(tracer: InferenceTracer, i: number): number {
  return tracer.infer((req) => {
    let x = req.preprocess(() => work(i));
    x = req.serialize(() => work(x));
    x = req.network(() => work(x));
    x = req.queue(() => work(x));
    x = req.transfer(() => work(x));
    x = req.compute(() => work(x));
    return req.postprocess(() => work(x));
  });
}

/** The same request with asynchronous phases (each phase an async function). */
function oursAsync(tracer: InferenceTracer, i: number): Promise<number> {
  return tracer.infer(async (req) => {
    let x = await req.preprocess(async () => work(i));
    x = await req.serialize(async () => work(x));
    x = await req.network(async () => work(x));
    x = await req.queue(async () => work(x));
    x = await req.transfer(async () => work(x));
    x = await req.compute(async () => work(x));
    return req.postprocess(async () => work(x));
  });
}

/** Preallocated results, so that phases returning objects allocate no more than those returning numbers. */
const RESULTS: readonly { readonly value: number }[] = Array.from({ length: 1009 }, (_, value) => ({ value }));

/** A phase's work returning an object, as real phases return tensors, arrays or parsed JSON. */
function workObject(x: number): { readonly value: number } {
  return RESULTS[work(x)]!;
}

function bareObjects(i: number): number {
  let x = RESULTS[i % 1009]!;
  for (let p = 0; p < REQUEST_PHASES.length; p += 1) x = workObject(x.value);
  return x.value;
}

/** `ours` with every phase (and the request) returning an object: each of the 8 returns is checked for a token stream. */
function oursObjects(tracer: InferenceTracer, i: number): number {
  return tracer.infer((req) => {
    let x = req.preprocess(() => workObject(i));
    x = req.serialize(() => workObject(x.value));
    x = req.network(() => workObject(x.value));
    x = req.queue(() => workObject(x.value));
    x = req.transfer(() => workObject(x.value));
    x = req.compute(() => workObject(x.value));
    return req.postprocess(() => workObject(x.value));
  }).value;
}

async function bareAsync(i: number): Promise<number> {
  let x = i;
  for (let p = 0; p < REQUEST_PHASES.length; p += 1) x = await (async () => work(x))();
  return x;
}

const PHASE_SPAN_ATTRIBUTES = Object.fromEntries(PHASES.map((p) => [p, { [ATTR.PHASE]: p }])) as unknown as Record<Phase, Attributes>;
const PHASE_METRIC_ATTRIBUTES = Object.fromEntries(PHASES.map((p) => [p, { [ATTR.PHASE]: p, [ATTR.MODEL_NAME]: MODEL.model }])) as unknown as Record<Phase, Attributes>;

interface HandInstruments {
  readonly phase: Histogram;
  readonly request: Histogram;
}

/** The same spans (and, with instruments, the same histogram records) written by hand. */
function byHand(tracer: Tracer, i: number, instruments?: HandInstruments): number {
  const requestStart = instruments ? performance.now() : 0;
  return tracer.startActiveSpan('infer resnet50', { kind: SpanKind.SERVER, attributes: REQUEST_ATTRIBUTES }, (span) => {
    let x = i;
    for (const phase of REQUEST_PHASES) {
      const start = instruments ? performance.now() : 0;
      x = tracer.startActiveSpan(phase, { attributes: PHASE_SPAN_ATTRIBUTES[phase] }, (child) => {
        const value = work(x);
        child.end();
        return value;
      });
      if (instruments) instruments.phase.record((performance.now() - start) / 1000, PHASE_METRIC_ATTRIBUTES[phase]);
    }
    span.end();
    if (instruments) instruments.request.record((performance.now() - requestStart) / 1000, { [ATTR.MODEL_NAME]: MODEL.model });
    return x;
  });
}

/**
 * Only the request span, written by hand: the least an instrumented request can cost when the
 * sampler drops it (one SDK span, made active for the calls inside). The reference for the
 * unsampled goal, since its absolute figure moves with the machine's load.
 */
function byHandRequestSpanOnly(tracer: Tracer, i: number): number {
  return tracer.startActiveSpan('infer resnet50', { kind: SpanKind.SERVER, attributes: REQUEST_ATTRIBUTES }, (span) => {
    const x = bare(i);
    span.end();
    return x;
  });
}

/**
 * The SDK's part of an instrumented request the sampler drops: one `startSpan` (ids, attribute
 * checks, the sampler, a non-recording span), without making it active. The floor for
 * instrumentation that asks the SDK for the span (the tracer with `setupTracing` takes the
 * decision itself: src/tracer/presample.ts).
 */
function sdkStartSpanOnly(tracer: Tracer, i: number): number {
  const span = tracer.startSpan('infer resnet50', { kind: SpanKind.SERVER, attributes: REQUEST_ATTRIBUTES });
  const x = bare(i);
  span.end();
  return x;
}

/** One round: all requests started back to back; async ones awaited together. */
async function runRound(run: (i: number) => number | Promise<number>, requests: number): Promise<void> {
  const pending: Promise<number>[] = [];
  for (let i = 0; i < requests; i += 1) {
    const result = run(i);
    if (typeof result === 'number') sink += result;
    else pending.push(result);
  }
  if (pending.length > 0) for (const value of await Promise.all(pending)) sink += value;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Hand-written spans around asynchronous phases, ended when each phase's promise settles. */
function byHandAsync(tracer: Tracer, i: number): Promise<number> {
  return tracer.startActiveSpan('infer resnet50', { kind: SpanKind.SERVER, attributes: REQUEST_ATTRIBUTES }, async (span) => {
    try {
      let x = i;
      for (const phase of REQUEST_PHASES) {
        x = await tracer.startActiveSpan(phase, { attributes: PHASE_SPAN_ATTRIBUTES[phase] }, async (child) => {
          try {
            return await (async () => work(x))();
          } finally {
            child.end();
          }
        });
      }
      return x;
    } finally {
      span.end();
    }
  });
}

/** The number of this run (from the parent): odd and even runs start with opposite variants. */
const RUN_INDEX = Number.parseInt(process.argv.find((a) => a.startsWith('--one-run='))?.slice('--one-run='.length) ?? '0', 10) || 0;

/** CPU µs per request of each round, by variant. */
type Rounds = Record<string, number[]>;

async function measure(
  variants: Record<string, (i: number) => number | Promise<number>>,
  requestsPerRound: number | Readonly<Record<string, number>> = REQUESTS_PER_ROUND,
): Promise<Rounds> {
  const names = Object.keys(variants);
  const count = (name: string): number => (typeof requestsPerRound === 'number' ? requestsPerRound : requestsPerRound[name]!);
  const samples: Rounds = Object.fromEntries(names.map((k) => [k, []]));
  // Which variant runs first alternates round by round, and between runs (the first rounds
  // decide much of how the JIT compiles the SDK code both variants share).
  const orderOf = (round: number): string[] => ((round + RUN_INDEX) % 2 === 0 ? names : [...names].reverse());
  // Warm-up (JIT, and the SDK's resource detection, which holds the first exports back).
  for (let round = 0; round < 10; round += 1) {
    for (const name of orderOf(round)) await runRound(variants[name]!, count(name));
    await yieldToLoop();
  }
  // Short interleaved rounds, each ending with a turn of the event loop (as a server's requests
  // do) so the batch processor exports; other load on the machine hits every variant alike. The
  // order alternates (forward, then backward), so what a round leaves behind (garbage, a queued
  // export) is not always charged to the same neighbour.
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const name of orderOf(round)) {
      // CPU time of this process, not wall time: on a shared machine the wall clock mostly
      // measures the other processes. No forced gc() between rounds: the background sweeping
      // it starts would be charged to the next round; natural GC cost belongs in the figure.
      const requests = count(name);
      const start = process.cpuUsage();
      await runRound(variants[name]!, requests);
      const used = process.cpuUsage(start);
      samples[name]!.push((used.user + used.system) / requests);
      await yieldToLoop();
    }
  }
  return samples;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const quartiles = (xs: readonly number[]): [number, number] => {
  const sorted = [...xs].sort((a, b) => a - b);
  return [sorted[Math.floor(sorted.length / 4)]!, sorted[Math.floor((3 * sorted.length) / 4)]!];
};
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

function printRounds(title: string, r: Rounds): void {
  console.log(`\n${title} (load average ${load()})`);
  for (const [name, xs] of Object.entries(r)) console.log(`  ${name.padEnd(34)} ${median(xs).toFixed(2).padStart(8)} CPU µs/request`);
}

/** One comparison: the median per-round ratio, and the median added µs per request of each side. */
interface Compared {
  readonly ratio: number;
  readonly oursUs: number;
  readonly handUs: number;
}

/** Prints one comparison; the ratio is the median over rounds of (ours − bare) / (hand − bare). */
function report(title: string, r: Rounds, oursKey: string, handKey: string): Compared {
  printRounds(title, r);
  const bareUs = r['bare']!;
  const oursAdded = r[oursKey]!.map((us, i) => us - bareUs[i]!);
  const handAdded = r[handKey]!.map((us, i) => us - bareUs[i]!);
  console.log(`  added cost: latency-doctor ${median(oursAdded).toFixed(2)} µs, hand-written ${median(handAdded).toFixed(2)} µs per request (8 spans)`);
  const perRound = oursAdded.map((us, i) => us / handAdded[i]!);
  const ratio = median(perRound);
  const [low, high] = quartiles(perRound);
  console.log(
    `  ratio latency-doctor / hand-written, median of ${perRound.length} rounds: ${ratio.toFixed(2)}× (middle half ${low.toFixed(2)}–${high.toFixed(2)}; ` +
      `ratio of the medians ${(median(oursAdded) / median(handAdded)).toFixed(2)}×) (goal ≤ 1.00×) ${ratio <= 1 ? 'OK' : 'ABOVE GOAL'}`,
  );
  return { ratio, oursUs: median(oursAdded), handUs: median(handAdded) };
}

/** What one run (one process) found: ratios to hand-written, and the unsampled cost. */
interface RunResult {
  readonly spans: Compared;
  readonly asyncSpans: Compared;
  readonly withMetrics: Compared;
  /** Unsampled requests in this process, after it recorded the parts above (a sampler that keeps some). */
  readonly unsampledAfterRecording: Unsampled;
  /** Unsampled requests in a process of their own, that records nothing (a sampler that drops all). */
  readonly unsampled: Unsampled;
  readonly noSetupUs: number;
  /** The returned-stream check, in a process of its own. */
  readonly returnedObjects: ReturnedObjects;
  readonly load: string;
}

/** What an unsampled request adds: ours, and one hand-written unsampled request span. */
interface Unsampled {
  readonly oursUs: number;
  readonly oneSpanUs: number;
  /** The SDK's `startSpan` alone (the floor). */
  readonly sdkStartSpanUs: number;
  /** Median over rounds of ours / one hand-written span. */
  readonly toOneSpan: number;
}

/**
 * A request the sampler drops (`ParentBased(AlwaysOff)`, spans only): latency-doctor against
 * eight hand-written spans, one hand-written request span and the SDK's `startSpan` alone, in
 * this process.
 */
async function measureUnsampled(title: string): Promise<Unsampled> {
  const tracing = setupTracing({ serviceName: 'bench', exporter: { spanExporter: discard }, metrics: false, sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) });
  const tracer = createInferenceTracer(MODEL);
  const otel = trace.getTracer('hand-written');
  const r = await measure({
    bare: (i) => bare(i),
    'hand-written, unsampled': (i) => byHand(otel, i),
    'hand-written, request span only': (i) => byHandRequestSpanOnly(otel, i),
    'SDK startSpan only': (i) => sdkStartSpanOnly(otel, i),
    'latency-doctor, unsampled': (i) => ours(tracer, i),
  }, {
    bare: CHEAP_REQUESTS_PER_ROUND,
    // Eight hand-written unsampled spans cost ~10 µs: a tenth as many requests give rounds as long.
    'hand-written, unsampled': CHEAP_REQUESTS_PER_ROUND / 10,
    'hand-written, request span only': CHEAP_REQUESTS_PER_ROUND,
    'SDK startSpan only': CHEAP_REQUESTS_PER_ROUND,
    'latency-doctor, unsampled': CHEAP_REQUESTS_PER_ROUND,
  });
  await tracing.shutdown();
  printRounds(title, r);
  const added = (name: string): number[] => r[name]!.map((us, i) => us - r['bare']![i]!);
  const oursUs = median(added('latency-doctor, unsampled'));
  const handUs = median(added('hand-written, unsampled'));
  const oneSpan = added('hand-written, request span only');
  const toOneSpan = median(added('latency-doctor, unsampled').map((us, i) => us / oneSpan[i]!));
  console.log(`  added cost: latency-doctor ${oursUs.toFixed(2)} µs per request (goal < 1 µs) ${oursUs < 1 ? 'OK' : 'ABOVE GOAL'}, hand-written ${handUs.toFixed(2)} µs (8 spans), ${median(oneSpan).toFixed(2)} µs (request span only)`);
  const sdkStartSpanUs = median(added('SDK startSpan only'));
  console.log(`  latency-doctor / hand-written request span only, median of ${oneSpan.length} rounds: ${toOneSpan.toFixed(2)}×; the SDK's startSpan alone ${sdkStartSpanUs.toFixed(2)} µs`);
  return { oursUs, oneSpanUs: median(oneSpan), sdkStartSpanUs, toOneSpan };
}

/** One run: every part, in this process; prints the details and returns the figures. */
async function oneRun(): Promise<Omit<RunResult, 'unsampled' | 'returnedObjects'>> {
  console.log(`${REQUESTS_PER_ROUND} requests (${CHEAP_REQUESTS_PER_ROUND} unsampled or before set-up) × ${ROUNDS} rounds per variant, 7 phases per request, median round; Node ${process.version}`);

  // Part 1: spans only (no metric reader: the histograms are the API's no-ops).
  let tracing = setupTracing({ serviceName: 'bench', exporter: { spanExporter: discard }, metrics: false, maxQueueSize: 65_536 });
  let tracer = createInferenceTracer(MODEL);
  const otel = trace.getTracer('hand-written');
  await tracing.forceFlush();
  const spansOnly = await measure({
    bare: (i) => bare(i),
    'hand-written @opentelemetry/api': (i) => byHand(otel, i),
    'latency-doctor infer + phases': (i) => ours(tracer, i),
  });
  const asyncSpans = await measure({
    bare: (i) => bareAsync(i),
    'hand-written, async phases': (i) => byHandAsync(otel, i),
    'latency-doctor, async phases': (i) => oursAsync(tracer, i),
  });
  await tracing.shutdown();
  const r1 = report('Spans only', spansOnly, 'latency-doctor infer + phases', 'hand-written @opentelemetry/api');
  const r1a = report('Spans only, async phases', asyncSpans, 'latency-doctor, async phases', 'hand-written, async phases');

  // Part 1b: a request the sampler drops (spans only), in this process after the recorded parts.
  const unsampled = await measureUnsampled('Unsampled (ParentBased(AlwaysOff), spans only), after the recorded parts in the same process');

  // Part 2: spans and the phase/request histograms.
  tracing = setupTracing({ serviceName: 'bench', exporter: { spanExporter: discard }, metrics: { readers: [new IdleReader()], otlp: false }, maxQueueSize: 65_536 });
  tracer = createInferenceTracer(MODEL);
  const otel2 = trace.getTracer('hand-written');
  const meter = metrics.getMeter('hand-written');
  const advice = { advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] } };
  const instruments: HandInstruments = {
    phase: meter.createHistogram(TRACER_METRICS.PHASE_DURATION.name, { unit: 's', ...advice }),
    request: meter.createHistogram(TRACER_METRICS.REQUEST_DURATION.name, { unit: 's', ...advice }),
  };
  await tracing.forceFlush();
  const withMetrics = await measure({
    bare: (i) => bare(i),
    'hand-written spans + histograms': (i) => byHand(otel2, i, instruments),
    'latency-doctor (spans + histograms)': (i) => ours(tracer, i),
  });
  await tracing.shutdown();
  const r2 = report('Spans and histograms', withMetrics, 'latency-doctor (spans + histograms)', 'hand-written spans + histograms');

  // Part 3: no setup at all (a library user who has not called setupTracing).
  tracer = createInferenceTracer(MODEL);
  const noSetup = await measure({ bare: (i) => bare(i), 'latency-doctor before setup (no-op)': (i) => ours(tracer, i) }, CHEAP_REQUESTS_PER_ROUND);
  printRounds('No setupTracing (no-op)', noSetup);
  const noSetupUs = median(noSetup['latency-doctor before setup (no-op)']!.map((us, i) => us - noSetup['bare']![i]!));
  return { spans: r1, asyncSpans: r1a, withMetrics: r2, unsampledAfterRecording: unsampled, noSetupUs, load: load() };
}

/** The part of a run in its own process: what a process whose sampler drops every request pays. */
async function unsampledRun(): Promise<Unsampled> {
  console.log(`Unsampled requests in a process that records nothing: ${CHEAP_REQUESTS_PER_ROUND} requests × ${ROUNDS} rounds per variant; Node ${process.version}`);
  return measureUnsampled('Unsampled (ParentBased(AlwaysOff), spans only), in a process of its own');
}

/** What the returned-stream check costs: phases returning objects against phases returning numbers. */
interface ReturnedObjects {
  /** Added µs per request, phases returning numbers (nothing to check). */
  readonly numbersUs: number;
  /** Added µs per request, phases returning objects (8 checks). */
  readonly objectsUs: number;
  /** Median over rounds of objects' added cost ÷ numbers' added cost. */
  readonly ratio: number;
  /** CPU ns of one `deferToStream` on an object that is no stream, less a plain null/owner check (the baseline). */
  readonly lookupNs: number;
}

/** Calls per round of the lookup alone: a few ns each, so rounds still take tens of ms. */
const LOOKUPS_PER_ROUND = 2_000_000;
const NOT_A_STREAM_OWNER = {};
const noHook = (): void => undefined;

/** The baseline of the lookup: the checks any wrapper makes on a returned value anyway. */
function plainCheck(value: unknown): boolean {
  return typeof value === 'object' && value !== null && value === NOT_A_STREAM_OWNER;
}

/**
 * The per-call check of a returned object (`deferToStream`): the same recorded request whose
 * phases return objects, against the one whose phases return numbers, each less its own bare
 * function in the same round. A ratio of 1.00× means the check costs nothing measurable.
 */
async function returnedObjectsRun(): Promise<ReturnedObjects> {
  console.log(`Returned objects: ${REQUESTS_PER_ROUND} requests × ${ROUNDS} rounds per variant, spans only; Node ${process.version}`);
  const tracing = setupTracing({ serviceName: 'bench', exporter: { spanExporter: discard }, metrics: false, maxQueueSize: 65_536 });
  const tracer = createInferenceTracer(MODEL);
  await tracing.forceFlush();
  const r = await measure({
    bare: (i) => bare(i),
    'bare, objects': (i) => bareObjects(i),
    'latency-doctor, phases return numbers': (i) => ours(tracer, i),
    'latency-doctor, phases return objects': (i) => oursObjects(tracer, i),
  });
  await tracing.shutdown();
  printRounds('Phases returning objects (each checked for a returned token stream) against numbers', r);
  const numbers = r['latency-doctor, phases return numbers']!.map((us, i) => us - r['bare']![i]!);
  const objects = r['latency-doctor, phases return objects']!.map((us, i) => us - r['bare, objects']![i]!);
  const perRound = objects.map((us, i) => us / numbers[i]!);
  const ratio = median(perRound);
  const [low, high] = quartiles(perRound);
  const numbersUs = median(numbers);
  const objectsUs = median(objects);
  console.log(`  added cost: numbers ${numbersUs.toFixed(2)} µs, objects ${objectsUs.toFixed(2)} µs per request (8 returns checked: ${(((objectsUs - numbersUs) * 1000) / 8).toFixed(1)} ns each)`);
  console.log(`  ratio objects / numbers, median of ${perRound.length} rounds: ${ratio.toFixed(2)}× (middle half ${low.toFixed(2)}–${high.toFixed(2)})`);
  // The lookup alone, finer than a request resolves: an object that is no stream, as every check but a stream's is.
  const lookups = await measure(
    {
      'plain check (baseline)': (i) => (plainCheck(RESULTS[i % 1009]) ? 1 : 0),
      'deferToStream (WeakMap lookup)': (i) => (deferToStream(RESULTS[i % 1009], NOT_A_STREAM_OWNER, noHook) ? 1 : 0),
    },
    LOOKUPS_PER_ROUND,
  );
  printRounds('The returned-stream check alone (µs per call)', lookups);
  const lookupNs = median(lookups['deferToStream (WeakMap lookup)']!.map((us, i) => (us - lookups['plain check (baseline)']![i]!) * 1000));
  console.log(`  deferToStream adds ${lookupNs.toFixed(1)} ns per returned object (${((8 * lookupNs) / 1000 / numbersUs * 100).toFixed(2)}% of a recorded request's ${numbersUs.toFixed(2)} µs for 8 returns)`);
  return { numbersUs, objectsUs, ratio, lookupNs };
}

function summarize(r: RunResult): string {
  return (
    `spans ${r.spans.ratio.toFixed(2)}×, async spans ${r.asyncSpans.ratio.toFixed(2)}×, spans+metrics ${r.withMetrics.ratio.toFixed(2)}× hand-written; ` +
    `unsampled ${r.unsampled.oursUs.toFixed(2)} µs/request = ${r.unsampled.toOneSpan.toFixed(2)}× one hand-written unsampled span ` +
    `(after recording in the same process: ${r.unsampledAfterRecording.oursUs.toFixed(2)} µs = ${r.unsampledAfterRecording.toOneSpan.toFixed(2)}×); ` +
    `phases returning objects ${r.returnedObjects.ratio.toFixed(2)}× returning numbers; load average ${r.load}`
  );
}

/**
 * Several runs, each in a fresh process: which variant a process's JIT favours differs from one
 * process to the next (the same comparison gave 0.87× and 1.27× in two processes), so one run
 * proves little. Prints each run's summary and the medians over the runs. LD_BENCH_RUNS sets
 * the number of runs (default 5); the details of the last run are printed too.
 */
function main(): void {
  const runs = Math.max(1, Number.parseInt(process.env['LD_BENCH_RUNS'] ?? '5', 10) || 5);
  const script = fileURLToPath(import.meta.url);
  const results: RunResult[] = [];
  const details: string[] = [];
  /** Runs one part in a fresh process; returns its result and keeps its printout. */
  const child = <T>(run: number, part: string): T => {
    const out = spawnSync(process.execPath, [...process.execArgv, script, `--one-run=${run}`, `--part=${part}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const line = out.stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
    if (out.status !== 0 || line === undefined) {
      process.stdout.write(out.stdout);
      throw new Error(`run ${run} (${part}) failed (exit ${out.status})`);
    }
    details.push(out.stdout.split('\n').filter((l) => !l.startsWith(RESULT_PREFIX)).join('\n'));
    return JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
  };
  console.log(`${runs} runs of this benchmark, each in two processes of its own; Node ${process.version}; load average ${load()}`);
  for (let run = 1; run <= runs; run += 1) {
    details.length = 0;
    const recorded = child<Omit<RunResult, 'unsampled' | 'returnedObjects'>>(run, 'recorded');
    const result: RunResult = { ...recorded, unsampled: child<Unsampled>(run, 'unsampled'), returnedObjects: child<ReturnedObjects>(run, 'returned-objects') };
    results.push(result);
    console.log(`run ${run}: ${summarize(result)}`);
    if (run === runs) process.stdout.write(`\nDetails of the last run:\n${details.join('\n')}\n`);
  }
  const med = (pick: (r: RunResult) => number): number => median(results.map(pick));
  const spread = (pick: (r: RunResult) => number): string => `${Math.min(...results.map(pick)).toFixed(2)}–${Math.max(...results.map(pick)).toFixed(2)}`;
  console.log(`\nmedian of ${runs} runs (range), added CPU µs per request (8 spans):`);
  for (const [name, pick] of [
    ['spans', (r: RunResult) => r.spans],
    ['async spans', (r: RunResult) => r.asyncSpans],
    ['spans + histograms', (r: RunResult) => r.withMetrics],
  ] as const) {
    console.log(
      `  ${name.padEnd(20)} hand-written ${med((r) => pick(r).handUs).toFixed(2)}, latency-doctor ${med((r) => pick(r).oursUs).toFixed(2)}: ` +
        `${med((r) => pick(r).ratio).toFixed(2)}× (${spread((r) => pick(r).ratio)}) (goal ≤ 1.00×)`,
    );
  }
  for (const [name, pick] of [
    ['unsampled', (r: RunResult) => r.unsampled],
    ['  after recording', (r: RunResult) => r.unsampledAfterRecording],
  ] as const) {
    console.log(
      `  ${name.padEnd(20)} latency-doctor ${med((r) => pick(r).oursUs).toFixed(2)} µs (${spread((r) => pick(r).oursUs)}; goal < 1 µs), ` +
        `one hand-written unsampled request span ${med((r) => pick(r).oneSpanUs).toFixed(2)} µs: ${med((r) => pick(r).toOneSpan).toFixed(2)}× (${spread((r) => pick(r).toOneSpan)}); ` +
        `the SDK's startSpan alone ${med((r) => pick(r).sdkStartSpanUs).toFixed(2)} µs (${spread((r) => pick(r).sdkStartSpanUs)})`,
    );
  }
  console.log(
    `  returned objects     numbers ${med((r) => r.returnedObjects.numbersUs).toFixed(2)} µs, objects ${med((r) => r.returnedObjects.objectsUs).toFixed(2)} µs: ` +
      `${med((r) => r.returnedObjects.ratio).toFixed(2)}× (${spread((r) => r.returnedObjects.ratio)}) (the returned-stream check; 1.00× = free); ` +
        `the lookup alone ${med((r) => r.returnedObjects.lookupNs).toFixed(1)} ns per call`,
  );
  console.log(`  before setupTracing ${med((r) => r.noSetupUs).toFixed(2)} µs/request; load average now ${load()}`);
}

const RESULT_PREFIX = 'RESULT ';
if (process.argv.some((a) => a.startsWith('--one-run'))) {
  const part = process.argv.find((a) => a.startsWith('--part='))?.slice('--part='.length);
  const result = part === 'unsampled' ? await unsampledRun() : part === 'returned-objects' ? await returnedObjectsRun() : await oneRun();
  console.log(`(sink ${sink % 10})`);
  console.log(`${RESULT_PREFIX}${JSON.stringify(result)}`);
} else {
  main();
}
