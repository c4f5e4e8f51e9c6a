/**
 * @module cli/analyze
 * `latency-doctor analyze FILE…`: read trace exports, print where the time goes and what to do.
 * Errors are thrown (LatencyDoctorError subclasses: TraceFormatError, DiagnoseOptionError,
 * AnalysisError, CliError) and turned into one line and an exit code by `cli/main`.
 */
import { Command, Option } from 'commander';
import { analyzeFiles } from '../analyzer/index.js';
import type { AnalysisResult, AnalyzeFilesOptions } from '../analyzer/index.js';
import { parseSlo, parseThresholdOverrides, sloUnmeasured } from '../analyzer/diagnose/index.js';
import type { DiagnoseOptions } from '../analyzer/diagnose/index.js';
import { renderJson } from '../report/json.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderText } from '../report/text.js';
import { assertHtmlTarget, assertRangeOrStart, fileTimeRange, integerOption, repeatable } from './_options.js';
import { CliError, EXIT, assertMeasured, exitCodesHelp } from './errors.js';
import { collectOption } from './_collect.js';
import { analyzePrometheus, parseDuration, parseHeaders, parseTime } from '../prometheus/index.js';

interface AnalyzeFlags {
  readonly json?: true;
  readonly markdown?: true;
  readonly strict?: true;
  readonly model?: string;
  readonly verbose?: true;
  readonly color: boolean;
  readonly idleSpans?: number;
  readonly top?: number;
  readonly threads?: number;
  readonly slo?: string;
  readonly failOnSlo?: true;
  readonly threshold?: string[];
  readonly explain?: true;
  readonly prometheus?: string;
  readonly range?: string;
  readonly start?: string;
  readonly end?: string;
  readonly step?: string;
  readonly selector?: string;
  readonly header?: string[];
  readonly timeout?: string;
  readonly replicaLabel?: string;
  readonly html?: string;
}

/** Adds the `analyze` command to the program. */
export function registerAnalyzeCommand(program: Command): Command {
  return program
    .command('analyze')
    .description(
      'Read trace exports (OTLP JSON/JSON lines/protobuf, Jaeger, Zipkin, Triton trace file, Python console spans; gzip/zstd), or the metrics a fleet exports to Prometheus (--prometheus URL), and report where inference latency goes.',
    )
    .argument('[file...]', 'trace export files, merged by trace id (e.g. client side + server side), and GPU sample files from `latency-doctor sidecar --samples-file`; a directory stands for its files (e.g. the rotated set the Collector file exporter writes); - reads standard input')
    .addOption(new Option('--json', 'print the report as JSON (schema: docs/json-schema.md)').conflicts('markdown'))
    .option('--markdown', 'print the report as Markdown, for an incident ticket')
    .option('--strict', 'fail on the first unreadable span instead of skipping it with a warning')
    .option('--model <name>', 'only analyse requests of this model')
    .option('--verbose', "also list, per input, the leniencies applied while reading, the fast reader's counts and where a piped input was held, and the assembly counts; on an internal error (exit 1), its stack")
    .option('--no-color', 'no ANSI colours (they are only used on a terminal anyway)')
    .option('--idle-spans <n>', 'finalize a trace after this many spans were read without it (a complete-looking one after a fiftieth of it, 2000 at least)', integerOption('--idle-spans', 1))
    .option('--top <n>', 'operations listed for traces outside the span convention', integerOption('--top', 1))
    .option('--threads <n>', 'threads reading a single big trace file (> 4 MiB; plain JSON lines are split by line ranges); 1: none besides the main thread (default: 2 for a file of 128 MiB or more on 4 cores or more, else 1; see docs/analyzer.md)', integerOption('--threads', 1))
    // ── Diagnosis options (docs/diagnosis.md). ──
    .option('--slo <targets>', 'latency objectives, e.g. p99=250ms,p95=120ms; on generation: ttft:p95=500ms,tpot:p99=50ms (metrics e2e, the default, ttft, tpot, itl)')
    .option('--fail-on-slo', `exit with code ${EXIT.GATE_FAILED} when an --slo objective is missed`)
    .option('--explain', "print every diagnosis rule's inputs, thresholds and whether it fired")
    .addOption(repeatable('--threshold <key=value>', 'override a diagnosis threshold (repeatable; names in docs/diagnosis.md)'))
    // ── Prometheus input (issue #13): docs/prometheus.md. ──
    .option('--prometheus <url>', 'read histograms and counters from a Prometheus-compatible engine instead of files, e.g. http://127.0.0.1:9090')
    .option('--range <duration>', 'with --prometheus: how far back from --end, e.g. 10m, 1h (default 1h); with trace files: back from --end')
    .option('--start <time>', 'start of the range (RFC 3339 or unix seconds); with trace files: only the requests that start from then (input without requests: the traces whose first span does)')
    .option('--end <time>', 'end of the range (with --prometheus, default now); with trace files: only the requests (or traces) that start before then')
    .option('--step <duration>', 'with --prometheus: query_range step for the drift and ramp tests (default range / 10)')
    .option('--selector <matchers>', 'with --prometheus: label matchers added to every query, e.g. \'{job="triton",namespace="prod"}\'')
    .addOption(repeatable('--header <line>', "with --prometheus: extra HTTP header (repeatable), e.g. 'Authorization: Bearer TOKEN'"))
    .option('--timeout <duration>', 'with --prometheus: per-query timeout (default 15s)')
    .option('--replica-label <label>', 'with --prometheus: label that tells replicas apart (default instance)')
    .option('--html <file>', 'also write a self-contained HTML report (charts, every rule) to this file')
    .addHelpText('after', exitCodesHelp())
    .action(async (files: string[], flags: AnalyzeFlags) => {
      if (flags.html !== undefined) assertHtmlTarget(flags.html);
      // An option mistake on every input path, before anything is read or printed.
      if (flags.failOnSlo && flags.slo === undefined) throw new CliError('--fail-on-slo needs --slo, e.g. --slo p99=250ms');
      assertRangeOrStart(flags);
      if (flags.prometheus !== undefined) {
        if (files.length > 0) throw new CliError(`give trace files or --prometheus, not both (got ${files.join(', ')} and --prometheus ${flags.prometheus})`);
        await analyzeFromPrometheus(flags.prometheus, flags);
        return;
      }
      if (files.length === 0) throw new CliError('nothing to analyse: give trace export files, or --prometheus URL (e.g. latency-doctor analyze --prometheus http://127.0.0.1:9090 --range 10m)');
      const prometheusOnly = (['step', 'selector', 'timeout', 'replicaLabel'] as const).filter((k) => flags[k] !== undefined);
      if (prometheusOnly.length > 0 || flags.header !== undefined) throw new CliError(`--${(prometheusOnly[0] ?? 'header').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} only applies with --prometheus URL`);
      const timeRange = fileTimeRange(flags);
      // With --strict, readers fail on anything they would skip and the analyzer on spans the assembler drops.
      const result = await analyzeFiles(files, { ...analyzeOptions(flags), ...(timeRange !== undefined ? { timeRange } : {}) });
      process.stdout.write(render(result, flags));
      // The files read, not the arguments: a directory stands for its files.
      if (flags.html !== undefined) await (await import('./_html.js')).writeHtmlReport(flags.html, result, result.files.map((f) => f.file));
      // Fail closed: a run that measured nothing must never pass as "analysed" or "SLO met".
      assertMeasured(result, files);
      if (flags.failOnSlo) sloGate(result, flags.slo, files.join(', '));
    });
}

async function analyzeFromPrometheus(url: string, flags: AnalyzeFlags): Promise<void> {
  const endS = flags.end !== undefined ? parseTime('--end', flags.end) : undefined;
  const result = await analyzePrometheus({
    url,
    headers: parseHeaders(flags.header ?? []),
    ...(flags.timeout !== undefined ? { timeoutMs: parseDuration('--timeout', flags.timeout) * 1000 } : {}),
    ...(endS !== undefined ? { endS } : {}),
    ...(flags.start !== undefined ? { startS: parseTime('--start', flags.start) } : {}),
    ...(flags.range !== undefined ? { rangeS: parseDuration('--range', flags.range) } : {}),
    ...(flags.step !== undefined ? { stepS: parseDuration('--step', flags.step) } : {}),
    ...(flags.selector !== undefined ? { selector: flags.selector } : {}),
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(flags.replicaLabel !== undefined ? { replicaLabel: flags.replicaLabel } : {}),
    diagnose: analyzeOptions(flags).diagnose ?? {},
  });
  process.stdout.write(render(result, flags));
  // No trace files to take example traces from: the page shows the verdict, the table and every rule.
  if (flags.html !== undefined) await (await import('./_html.js')).writeHtmlReport(flags.html, result, []);
  if (flags.failOnSlo) sloGate(result, flags.slo, 'the range');
}

/**
 * Exit 4 when there is no request to check (`input` names where), 3 when a measured quantile
 * misses its target, else 4 when a target's quantile was not measured (or a model's every
 * request failed): gates fail closed.
 */
function sloGate(result: AnalysisResult, slo: string | undefined, input: string): void {
  // A model whose every request failed is no "no inference requests": its diagnosis says why below.
  if (result.requests === 0 && result.models.length === 0) throw new CliError(`SLO not checked: no inference requests in ${input}`, EXIT.NOTHING_MEASURED);
  const missed = result.models.filter((m) => m.diagnosis?.slo?.checks.some((c) => !c.met && Number.isFinite(c.actualMs)) === true).map((m) => m.summary.model);
  if (missed.length > 0) throw new CliError(`SLO violated for ${missed.join(', ')} (${slo ?? ''})`, EXIT.GATE_FAILED);
  // Per model and reason: "p99 of densenet_onnx (means only)", "ttft:p95 of resnet50 (no first token recorded in the input)".
  const which = result.models.flatMap((m) => sloUnmeasured(m.diagnosis?.slo).map(({ why, labels }) => `${labels.join('/')} of ${m.summary.model} (${why})`));
  if (which.length > 0) throw new CliError(`SLO not checked: ${which.join(', ')} not measured`, EXIT.NOTHING_MEASURED);
}

function analyzeOptions(flags: AnalyzeFlags): AnalyzeFilesOptions {
  const diagnose: DiagnoseOptions = {
    ...(flags.threshold !== undefined ? { thresholds: parseThresholdOverrides(flags.threshold) } : {}),
    ...(flags.slo !== undefined ? { slo: parseSlo(flags.slo) } : {}),
  };
  return {
    strict: flags.strict === true,
    diagnose,
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(flags.idleSpans !== undefined ? { idleSpans: flags.idleSpans } : {}),
    ...(flags.top !== undefined ? { topOperations: flags.top } : {}),
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
    ...collectOption(),
  };
}

function render(result: AnalysisResult, flags: AnalyzeFlags): string {
  if (flags.json) return renderJson(result);
  if (flags.markdown) return renderMarkdown(result);
  // NO_COLOR (https://no-color.org) and a non-terminal stdout both turn colour off.
  const color = flags.color && process.stdout.isTTY === true && (process.env['NO_COLOR'] ?? '') === '';
  return renderText(result, { color, verbose: flags.verbose === true, explain: flags.explain === true });
}
