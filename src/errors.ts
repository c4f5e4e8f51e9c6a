/**
 * @module errors
 * The base of every user-facing error: a mistake in the input or on the command line (or a
 * verdict such as a missed SLO) that ends the run with an exit code and one line on stderr.
 * Each domain has its own subclass (TraceFormatError, DiagnoseOptionError, AnalysisError,
 * SidecarError, CliError, PrometheusError); `cli/main` catches the base once, and is the only code that exits.
 */

/**
 * Exit codes of `latency-doctor`, the one definition every command (`analyze`, `diff`, `sidecar`)
 * uses; `--help` of each prints EXIT_MEANINGS and docs/analyzer.md#exit-codes tabulates them.
 * A gate that checked and failed is 3; a gate that could not check, because nothing (or not
 * enough) was measured, is 4: gates fail closed, and a consumer can tell the two apart.
 */
export const EXIT = {
  OK: 0,
  /** Unexpected failure (a bug): the message, and the stack with --verbose. */
  INTERNAL: 1,
  /** A user mistake: bad file, bad option. */
  USAGE: 2,
  /**
   * A gate failed on what was measured: `analyze --fail-on-slo` and an objective was missed;
   * `diff --fail-on-regression` and an e2e quantile grew significantly beyond its limit.
   */
  GATE_FAILED: 3,
  /** @deprecated The same code as GATE_FAILED, named before `diff --fail-on-regression` shared it. */
  SLO_VIOLATED: 3,
  /**
   * Nothing was measured: no readable span in the input (empty, or every record skipped), a
   * `--prometheus` range with no request while the engine holds data at other times, or a
   * gate with nothing (or too little) to check on: `--fail-on-slo` with no inference request or
   * an unmeasured quantile, `--fail-on-regression` with too few requests to tell or a model with
   * no request AFTER. Gates fail closed.
   */
  NOTHING_MEASURED: 4,
} as const;

/** One line per exit code, in the words `--help` of `analyze` and `diff` prints them. */
export const EXIT_MEANINGS: Readonly<Record<(typeof EXIT)[Exclude<keyof typeof EXIT, 'SLO_VIOLATED'>], string>> = {
  [EXIT.OK]: 'done (with a gate: it passed)',
  [EXIT.INTERNAL]: 'internal error (a bug; details with --verbose)',
  [EXIT.USAGE]: 'bad option or unusable input, or a --model that matches no model (one line naming it)',
  [EXIT.GATE_FAILED]: 'a gate failed: --fail-on-slo objective missed, or --fail-on-regression limit exceeded significantly',
  [EXIT.NOTHING_MEASURED]: 'nothing measured: no readable span, a --prometheus range with no request, or a gate with nothing (or too little) to check on (fails closed)',
};

/** A failure the user can act on: its message is one line, printed as is, and the run ends with `exitCode`. */
export class LatencyDoctorError extends Error {
  override readonly name: string = 'LatencyDoctorError';
  /** Exit code of the CLI for this error. Default EXIT.USAGE. */
  readonly exitCode: number;
  /** Printed before the message (e.g. `sidecar`), naming the part that failed; empty for none. */
  readonly scope: string;

  constructor(message: string, options: { readonly exitCode?: number; readonly scope?: string } = {}) {
    super(message);
    this.exitCode = options.exitCode ?? EXIT.USAGE;
    this.scope = options.scope ?? '';
  }
}

/** How many model names a "models seen" list spells out before "and N more". */
const MODELS_LISTED = 10;

/**
 * `--model NAME` (or `--after-model`) matched no model in the input: a user mistake (exit 2) on
 * every input path, one line naming the input and the models that were seen, so a typo shows
 * next to the right name.
 */
export class ModelNotFoundError extends LatencyDoctorError {
  override readonly name = 'ModelNotFoundError';
  /** The name asked for. */
  readonly model: string;
  /** The input it was looked for in, as the message names it (files, or a URL and range). */
  readonly input: string;
  /** The models the input holds (with --prometheus: those with requests in the range), sorted. */
  readonly seen: readonly string[];
  /** The option that named the model (`--model`, `--after-model`). */
  readonly option: string;

  constructor(model: string, input: string, seen: Iterable<string>, option = '--model') {
    const sorted = [...new Set(seen)].sort((a, b) => a.localeCompare(b));
    const listed = sorted.length > MODELS_LISTED ? `${sorted.slice(0, MODELS_LISTED).join(', ')} and ${sorted.length - MODELS_LISTED} more` : sorted.join(', ');
    super(`${option} ${JSON.stringify(model)} matches no model in ${input}; models seen: ${sorted.length === 0 ? 'none (no span names inference.model.name)' : `${listed} (${sorted.length})`}`);
    this.model = model;
    this.input = input;
    this.seen = sorted;
    this.option = option;
  }
}

/**
 * A time range (`--start`/`--end` on trace files) in which no request of the input starts: nothing
 * measured (exit 4), one line naming the range asked for and where the input's requests lie, as
 * an empty `--prometheus` range says where the engine's data is.
 */
export class TimeRangeEmptyError extends LatencyDoctorError {
  override readonly name = 'TimeRangeEmptyError';

  /** `what`: requests, or traces for input with no request span (a trace starts with its first span). */
  constructor(
    readonly input: string,
    readonly range: string,
    readonly firstNs: bigint,
    readonly lastNs: bigint,
    readonly what: 'request' | 'trace' = 'request',
  ) {
    super(`nothing measured: no ${what} of ${input} starts ${range} (the range asked for); its ${what}s start from ${isoNs(firstNs)} to ${isoNs(lastNs)}`, { exitCode: EXIT.NOTHING_MEASURED });
  }
}

/** A `--start`/`--end` range in words: "between A and B", "at or after A", "before B" (each to the ns). */
export function rangeWords(range: { readonly startNs?: bigint; readonly endNs?: bigint }): string {
  if (range.startNs !== undefined && range.endNs !== undefined) return `between ${isoNs(range.startNs)} and ${isoNs(range.endNs)}`;
  return range.startNs !== undefined ? `at or after ${isoNs(range.startNs)}` : `before ${isoNs(range.endNs ?? 0n)}`;
}

/** An instant in ns since the epoch as RFC 3339 UTC, with as many fraction digits as it has (to the ns). */
export function isoNs(ns: bigint): string {
  const sub = ns % 1_000_000_000n;
  const whole = new Date(Number((ns - sub) / 1_000_000n)).toISOString().slice(0, 19);
  if (sub === 0n || ns < 0n) return `${whole}Z`;
  return `${whole}.${sub.toString().padStart(9, '0').replace(/0+$/, '')}Z`;
}

/**
 * One character as a message shows it where a terminal would act on it (a control byte, a bidi
 * override): `\xNN` up to U+00FF, else `\uNNNN`. The report escapes names from the input with it
 * (report/_format.ts escapeControls), and the readers the character they name in an error.
 */
export function escapedChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
