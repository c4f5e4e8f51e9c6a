/**
 * The promtool the tests run: `$PROMTOOL` when set (CI unpacks Prometheus 3's promtool, the
 * pinned image's major version, with .ci/install-promtool3), else `promtool` on PATH (Debian
 * bookworm's is 2.42).
 */
import { execFileSync } from 'node:child_process';

/** Path or name of the promtool executable. */
export const PROMTOOL = process.env['PROMTOOL'] ?? 'promtool';

/** promtool's major version (2 or 3), read once from `promtool --version`. */
export function promtoolMajor(): number {
  const text = execFileSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
  const match = /version (\d+)\./.exec(text);
  if (match === null) throw new Error(`cannot read the version of ${PROMTOOL}: ${text.slice(0, 80)}`);
  return Number(match[1]);
}
