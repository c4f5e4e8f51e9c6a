/**
 * @module cli/analyze
 * `latency-doctor analyze FILE…`: read trace exports, print where the time goes and what to do.
 * Errors are thrown (LatencyDoctorError subclasses: TraceFormatError, DiagnoseOptionError,
 * AnalysisError, CliError) and turned into one line and an exit code by `cli/main`.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { analyzeFiles } from '../analyzer/index.js';
import type { AnalysisResult, AnalyzeFilesOptions } from '../analyzer/index.js';
import { parseSlo, parseThresholdOverrides } from '../analyzer/diagnose/index.js';
import type { DiagnoseOptions } from '../analyzer/diagnose/index.js';
import { renderJson } from '../report/json.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderText } from '../report/text.js';
import { CliError, EXIT } from './errors.js';

interface AnalyzeFlags {
  readonly json?: true;
  readonly markdown?: true;
  readonly strict?: true;
  readonly model?: string;
  readonly verbose?: true;
  readonly color: boolean;
  readonly idleSpans?: number;
  readonly top?: number;
  readonly threads?: true;
  readonly slo?: string;
  readonly failOnSlo?: true;
  readonly threshold: string[];
  readonly explain?: true;
  readonly html?: string;
}

function positiveInteger(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

/** Adds the `analyze` command to the program. */
export function registerAnalyzeCommand(program: Command): Command {
  return program
    .command('analyze')
    .description('Read trace exports (OTLP JSON/JSON lines, Jaeger, Zipkin; gzip/zstd) and report where inference latency goes.')
    .argument('<file...>', 'trace export files; several are merged by trace id (e.g. client side + server side)')
    .addOption(new Option('--json', 'print the report as JSON (schema: docs/json-schema.md)').conflicts('markdown'))
    .option('--markdown', 'print the report as Markdown, for an incident ticket')
    .option('--strict', 'fail on the first unreadable span instead of skipping it with a warning')
    .option('--model <name>', 'only analyse requests of this model')
    .option('--verbose', 'also list the leniencies applied while reading and the assembly counts')
    .option('--no-color', 'no ANSI colours (they are only used on a terminal anyway)')
    .option('--idle-spans <n>', 'finalize a trace after this many spans were read without it', positiveInteger('--idle-spans'))
    .option('--top <n>', 'operations listed for traces outside the span convention', positiveInteger('--top'))
    .option('--threads', 'parse big files in a worker thread (faster with a free core, uses more memory)')
    // ── Diagnosis options (docs/diagnosis.md). ──
    .option('--slo <targets>', 'latency objectives, e.g. p99=250ms,p95=120ms')
    .option('--fail-on-slo', `exit with code ${EXIT.SLO_VIOLATED} when an --slo objective is missed`)
    .option('--explain', "print every diagnosis rule's inputs, thresholds and whether it fired")
    .option('--threshold <key=value>', 'override a diagnosis threshold (repeatable; names in docs/diagnosis.md)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--html <file>', 'also write a self-contained HTML report (charts, every rule) to this file')
    .action(async (files: string[], flags: AnalyzeFlags) => {
      // With --strict, readers fail on anything they would skip and the analyzer on spans the assembler drops.
      const result = await analyzeFiles(files, analyzeOptions(flags));
      if (flags.failOnSlo && flags.slo === undefined) throw new CliError('--fail-on-slo needs --slo, e.g. --slo p99=250ms');
      process.stdout.write(render(result, flags));
      if (flags.html !== undefined) await (await import('./_html.js')).writeHtmlReport(flags.html, result, files);
      // Fail closed: a run that measured nothing must never pass as "analysed" or "SLO met".
      if (result.spans === 0) {
        const skipped = result.files.reduce((n, f) => n + f.skipped, 0);
        throw new CliError(`nothing measured: no readable spans in ${files.join(', ')}${skipped > 0 ? ` (${skipped} unreadable span(s), line(s) or record(s) skipped)` : ''}`, EXIT.NOTHING_MEASURED);
      }
      if (flags.failOnSlo) {
        if (result.requests === 0) {
          throw new CliError(`SLO not checked: no inference requests${flags.model !== undefined ? ` of model "${flags.model}"` : ''} in ${files.join(', ')}`, EXIT.NOTHING_MEASURED);
        }
        const missed = result.models.filter((m) => m.diagnosis?.slo?.met === false).map((m) => m.summary.model);
        if (missed.length > 0) throw new CliError(`SLO violated for ${missed.join(', ')} (${flags.slo})`, EXIT.SLO_VIOLATED);
      }
    });
}

function analyzeOptions(flags: AnalyzeFlags): AnalyzeFilesOptions {
  const diagnose: DiagnoseOptions = {
    ...(flags.threshold.length > 0 ? { thresholds: parseThresholdOverrides(flags.threshold) } : {}),
    ...(flags.slo !== undefined ? { slo: parseSlo(flags.slo) } : {}),
  };
  return {
    strict: flags.strict === true,
    diagnose,
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(flags.idleSpans !== undefined ? { idleSpans: flags.idleSpans } : {}),
    ...(flags.top !== undefined ? { topOperations: flags.top } : {}),
    ...(flags.threads ? { threads: true } : {}),
  };
}

function render(result: AnalysisResult, flags: AnalyzeFlags): string {
  if (flags.json) return renderJson(result);
  if (flags.markdown) return renderMarkdown(result);
  // NO_COLOR (https://no-color.org) and a non-terminal stdout both turn colour off.
  const color = flags.color && process.stdout.isTTY === true && (process.env['NO_COLOR'] ?? '') === '';
  return renderText(result, { color, verbose: flags.verbose === true, explain: flags.explain === true });
}
