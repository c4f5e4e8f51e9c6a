/**
 * @module report/diagnosis-markdown
 * The diagnosis section of the `--markdown` output, for an incident ticket: verdict, the
 * ranked recommendations with evidence, next step (as a code block) and example trace ids,
 * and every rule's outcome in a collapsed table.
 */
import type { Diagnosis, Recommendation } from '../model/diagnosis.js';
import { confoundedSuffix, gainFigures, populationLine } from './diagnosis-text.js';

/** Options of the diagnosis section. */
export interface DiagnosisMarkdownOptions {
  /** Name the model in the heading. Default false. */
  readonly named?: boolean;
  /** Include the rules table (collapsed). Default true. */
  readonly rules?: boolean;
}

function escape(text: string): string {
  return text.replace(/[|*_`<>[\]\\]/g, (ch) => `\\${ch}`).replace(/\r?\n/g, ' ');
}

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Number.isInteger(x) ? String(x) : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : String(Number(x.toPrecision(3)));
}

function recommendationSection(r: Recommendation, rank: number): string[] {
  const out = [`#### ${rank}. ${escape(r.title)}`, '', `\`${r.fix}\` · confidence ${r.confidence.toFixed(2)} · effort ${r.effort}${r.cause ? ` · cause ${r.cause}` : ''}`, ''];
  for (const e of r.evidence) out.push(`- ${escape(e.text)}`);
  out.push('');
  if (r.estimatedGain) {
    const g = r.estimatedGain;
    out.push(`**Expected:** ${gainFigures(g, num)} (${escape(g.basis)})${escape(confoundedSuffix(g))}`, '');
  }
  out.push(`**Next step:** ${escape(r.nextStep.text)}`, '');
  if (r.nextStep.snippet) {
    // A fence longer than any backtick run in the code keeps the block intact.
    const longest = Math.max(2, ...(r.nextStep.snippet.code.match(/`+/g) ?? []).map((m) => m.length));
    const fence = '`'.repeat(longest + 1);
    out.push(`${fence}${r.nextStep.snippet.language}`, r.nextStep.snippet.code, fence, '');
  }
  if (r.exampleTraceIds.length > 0) out.push(`Example traces: ${r.exampleTraceIds.map((id) => `\`${id}\``).join(', ')}`, '');
  return out;
}

/** Render one model's diagnosis as Markdown lines. */
export function renderDiagnosisMarkdown(d: Diagnosis, options: DiagnosisMarkdownOptions = {}): string[] {
  const out = [`### Diagnosis${options.named ? ` (\`${d.model.replace(/`/g, "'")}\`)` : ''}: ${d.primary === null ? 'nothing stands out' : `\`${d.primary}\``}`, '', `> ${escape(d.headline)}`, ''];
  // What the gains assume (a GPU held at its power cap), under the verdict as in the text report.
  for (const caveat of d.caveats ?? []) out.push(`**Note:** ${escape(caveat.text)}`, '');
  // In Markdown the model's phase table follows its diagnosis.
  const population = populationLine(d, 'the phase table below');
  if (population && d.recommendations.length > 0) out.push(`_${escape(population)}_`, '');
  if (d.tail) out.push(`**Tail:** ${escape(d.tail.text)}${d.tail.exampleTraceIds.length > 0 ? ` (e.g. ${d.tail.exampleTraceIds.map((id) => `\`${id}\``).join(', ')})` : ''}`, '');
  d.recommendations.forEach((r, i) => out.push(...recommendationSection(r, i + 1)));
  if (options.rules ?? true) {
    out.push('<details><summary>Every rule</summary>', '', '| Rule | Fired | Why | Inputs |', '|---|---|---|---|');
    for (const r of d.rules) {
      const inputs = Object.entries(r.inputs).map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : String(v)}`).join(', ');
      out.push(`| ${r.rule} | ${r.fired ? 'yes' : 'no'} | ${escape(r.reason)} | ${escape(inputs)} |`);
    }
    out.push('', '</details>', '');
  }
  return out;
}
