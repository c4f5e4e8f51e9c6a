/**
 * @module cli/diff
 * `latency-doctor diff BEFORE… -- AFTER…`: analyse two runs and say, per model and phase, what
 * changed and whether it is real. `--fail-on-regression p99=10%` turns it into a CI gate that
 * exits 3 only on a significant regression beyond the limit, and 4 (fail closed) when there were
 * too few requests to tell; exit codes are analyze's (src/errors.ts `EXIT`).
 */
import { Command, Option } from 'commander';
import { analyzeFiles } from '../analyzer/index.js';
import type { AnalysisResult, AnalyzeOptions, TimeRange } from '../analyzer/index.js';
import { parseThresholdOverrides } from '../analyzer/diagnose/index.js';
import { diffAnalyses, parseRegressionGates, regressions } from '../analyzer/diff/index.js';
import type { AnalysisDiff } from '../analyzer/diff/index.js';
import { renderDiffJson } from '../report/diff-json.js';
import { renderDiffMarkdown } from '../report/diff-markdown.js';
import { renderDiffText } from '../report/diff-text.js';
import { CliError, EXIT, assertMeasured, exitCodesHelp } from './errors.js';
import { ModelNotFoundError, TimeRangeEmptyError } from '../errors.js';
import { assertHtmlTarget, fileTimeRange, repeatable } from './_options.js';
import { collectOption } from './_collect.js';

interface DiffFlags {
  readonly after?: string[];
  readonly json?: true;
  readonly markdown?: true;
  readonly html?: string;
  readonly model?: string;
  readonly afterModel?: string;
  readonly strict?: true;
  readonly threshold?: string[];
  readonly verbose?: true;
  readonly failOnRegression?: string;
  readonly start?: string;
  readonly end?: string;
  readonly range?: string;
  readonly afterStart?: string;
  readonly afterEnd?: string;
  readonly afterRange?: string;
}

/** AFTER's own range options, named as typed for the one-line errors. */
const AFTER_RANGE_NAMES = { start: '--after-start', end: '--after-end', range: '--after-range' } as const;

/** Hidden option the lone `--` between the two file lists is rewritten to (see `diffArgv`). */
const AFTER_OPTION = '--after';

/**
 * Commander stops parsing options at `--`; `diff` uses it as the separator between BEFORE and
 * AFTER files instead, so options may still follow the AFTER files.
 */
export function diffArgv(argv: readonly string[]): string[] {
  const command = argv.indexOf('diff', 2);
  if (command < 0) return [...argv];
  const separator = argv.indexOf('--', command + 1);
  if (separator < 0) return [...argv];
  // `--` with no AFTER file behind it (at the end, or before an option): left out, so the action
  // says what diff expects instead of Commander naming the hidden option or taking `--json` for a file.
  const next = argv[separator + 1];
  if (next === undefined || (next.startsWith('-') && next !== '-')) return [...argv.slice(0, separator), ...argv.slice(separator + 1)];
  return [...argv.slice(0, separator), AFTER_OPTION, ...argv.slice(separator + 1)];
}

/** Adds the `diff` command to the program. */
export function registerDiffCommand(program: Command): Command {
  return program
    .command('diff')
    .description('Compare two runs (BEFORE… -- AFTER…): per model and phase p50/p95/p99 before → after, with significance.')
    .usage('[options] BEFORE... -- AFTER...')
    .argument('<before...>', 'trace exports (or directories of them) of the run before the change, then --, then those of the run after it')
    .addOption(new Option(`${AFTER_OPTION} <file...>`).hideHelp())
    .addOption(new Option('--json', 'print the comparison as JSON (schema: docs/diff.md)').conflicts('markdown'))
    .option('--markdown', 'print the comparison as Markdown, for a pull request or ticket')
    .option('--html <file>', 'also write a self-contained HTML page with before/after overlays')
    .option('--model <name>', 'only compare requests of this model')
    .option('--after-model <name>', "the --model's name in the AFTER run, for a model renamed between the runs")
    .option('--strict', 'fail on the first unreadable span instead of skipping it with a warning')
    .option('--start <time>', 'only the requests that start from then, on both sides (RFC 3339 or unix seconds; input without requests: the traces whose first span does)')
    .option('--end <time>', 'only the requests that start before then, on both sides')
    .option('--range <duration>', 'instead of --start: back from --end, e.g. 1h')
    .option('--after-start <time>', "AFTER's own range (with --after-end, --after-range; --start/--end/--range are then BEFORE's only), e.g. the hour after a deploy from the same file")
    .option('--after-end <time>', "AFTER's own range: only its requests that start before then")
    .option('--after-range <duration>', 'instead of --after-start: back from --after-end, e.g. 1h')
    .addOption(repeatable('--threshold <key=value>', 'override a diagnosis threshold on both sides (repeatable)'))
    .option('--fail-on-regression <limits>', `exit with code ${EXIT.GATE_FAILED} when an e2e quantile grew significantly by more than the limit, e.g. p99=10%`)
    // Read by cli/main: the stack of an internal error (exit 1), as the exit-code table says.
    .option('--verbose', 'on an internal error (exit 1), also print its stack')
    .addHelpText('after', exitCodesHelp())
    .action(async (before: string[], flags: DiffFlags) => {
      if (flags.html !== undefined) assertHtmlTarget(flags.html);
      const after = flags.after ?? [];
      if (after.length === 0) throw new CliError('diff: expected BEFORE files, then --, then AFTER files, e.g. latency-doctor diff before.jsonl -- after.jsonl');
      const gates = flags.failOnRegression === undefined ? [] : parseRegressionGates(flags.failOnRegression);
      if (flags.afterModel !== undefined && flags.model === undefined) throw new CliError('--after-model needs --model (the name BEFORE), e.g. --model resnet50 --after-model resnet50-v2');
      const { before: beforeRange, after: afterRange } = sideRanges(flags);
      const options = analyzeOptions(flags, beforeRange);
      const afterOptions: AnalyzeOptions = { ...analyzeOptions(flags, afterRange), ...(flags.afterModel !== undefined ? { model: flags.afterModel } : {}) };
      // Both sides settle before either fails, so a mistake on both is always named on BEFORE's side.
      const [beforeResult, afterResult] = bothOrFirstError(await Promise.allSettled([analyzeFiles(before, options).catch(namedBySide('BEFORE', flags)), analyzeFiles(after, afterOptions).catch(namedBySide('AFTER', flags))]));
      // A side with no readable span fails as analyze does (exit 4), not as a mismatched pair.
      assertMeasured(beforeResult, before);
      assertMeasured(afterResult, after);
      const diff = diffAnalyses(beforeResult, afterResult, flags.afterModel === undefined || flags.model === undefined ? {} : { renamed: { before: flags.model, after: flags.afterModel } });
      process.stdout.write(flags.json ? renderDiffJson(diff) : flags.markdown ? renderDiffMarkdown(diff) : renderDiffText(diff));
      if (flags.html !== undefined) await writeHtml(flags.html, diff, beforeResult, afterResult);
      if (gates.length > 0) {
        const { regressed, unmeasured } = regressions(diff, gates);
        if (regressed.length > 0) throw new CliError(`regression: ${regressed.join('; ')}`, EXIT.GATE_FAILED);
        if (unmeasured.length > 0) throw new CliError(`--fail-on-regression cannot tell, failing closed: ${unmeasured.join('; ')}`, EXIT.NOTHING_MEASURED);
      }
    });
}

/** Both values, or the first side's error (BEFORE's when both failed). */
function bothOrFirstError<T>([before, after]: PromiseSettledResult<T>[]): [T, T] {
  if (before?.status === 'rejected') throw before.reason;
  if (after?.status === 'rejected') throw after.reason;
  return [(before as PromiseFulfilledResult<T>).value, (after as PromiseFulfilledResult<T>).value];
}

/**
 * A side's error named for that side: AFTER's unmatched model by the option that gave it
 * (`--after-model` where one was given); a range nothing starts in by the side, as both sides
 * may be the same file.
 */
function namedBySide(side: 'BEFORE' | 'AFTER', flags: DiffFlags): (error: unknown) => never {
  return (error) => {
    if (side === 'AFTER' && error instanceof ModelNotFoundError && flags.afterModel !== undefined) throw new ModelNotFoundError(error.model, error.input, error.seen, '--after-model');
    if (error instanceof TimeRangeEmptyError) throw new TimeRangeEmptyError(`${side} (${error.input})`, error.range, error.firstNs, error.lastNs, error.what);
    throw error;
  };
}

/**
 * Each side's time range: `--start`/`--end`/`--range` for both, unless AFTER has its own
 * (`--after-start`/`--after-end`/`--after-range`, as `--after-model` names AFTER's model): then
 * the plain ones are BEFORE's alone, so "the hour before the deploy" and "the hour after" can
 * come from one file. Read before any file is, so an option mistake is exit 2 with no output.
 */
function sideRanges(flags: DiffFlags): { before: TimeRange | undefined; after: TimeRange | undefined } {
  const before = fileTimeRange(flags);
  const own = flags.afterStart !== undefined || flags.afterEnd !== undefined || flags.afterRange !== undefined;
  return { before, after: own ? fileTimeRange({ start: flags.afterStart, end: flags.afterEnd, range: flags.afterRange }, AFTER_RANGE_NAMES) : before };
}

function analyzeOptions(flags: DiffFlags, timeRange: TimeRange | undefined): AnalyzeOptions {
  return {
    strict: flags.strict === true,
    diagnose: flags.threshold !== undefined ? { thresholds: parseThresholdOverrides(flags.threshold) } : {},
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(timeRange !== undefined ? { timeRange } : {}),
    ...collectOption(),
  };
}

async function writeHtml(file: string, diff: AnalysisDiff, before: AnalysisResult, after: AnalysisResult): Promise<void> {
  const [{ renderDiffHtml }, { writeHtmlFile }] = await Promise.all([import('../report/html/index.js'), import('./_html.js')]);
  await writeHtmlFile(file, await renderDiffHtml(diff, before, after));
}
