/**
 * @module report/diagnosis-tables
 * The Markdown tables of docs/diagnosis.md that are built from the rule registry: every
 * threshold (default, unit, source, why) and every rule's inputs. `npm run docs:tables` writes
 * them between their markers; a test checks the document matches.
 */
import { RULE_INPUTS, RULES, THRESHOLD_SPECS } from '../analyzer/diagnose/index.js';

/** Markers around each generated block in docs/diagnosis.md. */
export const DOC_BLOCKS = {
  thresholds: ['<!-- thresholds:begin -->', '<!-- thresholds:end -->'],
  'rule-inputs': ['<!-- rule-inputs:begin -->', '<!-- rule-inputs:end -->'],
} as const;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The thresholds table, one row per threshold in THRESHOLD_SPECS order. */
export function thresholdTable(): string {
  const rows = Object.entries(THRESHOLD_SPECS).map(([key, spec]) => `| \`${key}\` | ${spec.value} | ${cell(spec.unit)} | ${cell(spec.source)} | ${cell(spec.why)} |`);
  return ['| Threshold | Default | Unit | Source | Why |', '|---|---:|---|---|---|', ...rows].join('\n');
}

/** The rule-inputs table: what each rule needs, what sharpens it, GPU use, and whether aggregates suffice. */
export function ruleInputsTable(): string {
  const list = (inputs: readonly string[]): string => (inputs.length === 0 ? '—' : inputs.map((i) => `\`${i}\``).join(', '));
  const rows = RULES.map((r) => `| \`${r.id}\` | ${list(r.needs.inputs)} | ${list(r.needs.refinedBy)} | ${r.needs.gpu} | ${r.input === 'aggregates-ok' ? 'yes' : 'no: needs per-request data'} |`);
  const legend = Object.entries(RULE_INPUTS).map(([name, spec]) => `| \`${name}\` | ${spec.perRequestOnly ? 'no' : 'yes'} | ${cell(spec.description)} |`);
  return [
    '| Rule | Needs | Sharpened by | GPU samples | Runs on aggregates |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    '| Input | From aggregates | What it is |',
    '|---|---|---|',
    ...legend,
  ].join('\n');
}

/** `doc` with every generated block replaced by its current content. */
export function withGeneratedTables(doc: string): string {
  const content: Record<keyof typeof DOC_BLOCKS, string> = { thresholds: thresholdTable(), 'rule-inputs': ruleInputsTable() };
  let out = doc;
  for (const [name, [begin, end]] of Object.entries(DOC_BLOCKS) as [keyof typeof DOC_BLOCKS, readonly [string, string]][]) {
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/diagnosis.md: markers ${begin} … ${end} not found`);
    out = `${out.slice(0, from + begin.length)}\n${content[name]}\n${out.slice(to)}`;
  }
  return out;
}
