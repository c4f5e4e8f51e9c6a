/**
 * @module cli/_options
 * Option shapes the commands share.
 */
import { Option } from 'commander';

/**
 * An option that may be given several times (`--threshold a=1 --threshold b=2`), collected in
 * order. No default value: Commander would print it in `--help` as "(default: [])".
 */
export function repeatable(flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
}
