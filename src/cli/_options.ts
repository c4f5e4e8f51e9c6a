/**
 * @module cli/_options
 * Option shapes the commands share.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option } from 'commander';
import { CliError } from './errors.js';

/**
 * An option that may be given several times (`--threshold a=1 --threshold b=2`), collected in
 * order. No default value: Commander would print it in `--help` as "(default: [])".
 */
export function repeatable(flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
}

/**
 * Fails before any work when `--html FILE` cannot be written (its directory missing or read-only,
 * or FILE a directory): exit 2 then means "no JSON on stdout", as documented, instead of a whole
 * report printed and the page failing last. The write itself still reports what it meets.
 */
export function assertHtmlTarget(out: string): void {
  const problem = htmlTargetProblem(out);
  if (problem !== undefined) throw new CliError(`--html ${out}: cannot write the report (${problem})`);
}

function htmlTargetProblem(out: string): string | undefined {
  try {
    if (statSync(out).isDirectory()) return 'EISDIR: is a directory';
  } catch {
    // Not there yet: its directory must be.
  }
  try {
    accessSync(dirname(resolve(out)), constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return `${code}${code === 'ENOENT' ? ': no such directory' : ''}`;
  }
}
