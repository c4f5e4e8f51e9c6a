/**
 * The built tracer (dist/tracer, dist/cjs/tracer) for tests that load the package as a service
 * does: built first when a file of src/tracer is missing from a build or newer than its output.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs `npm run build` when the tracer's ESM or CommonJS build is behind its source. */
export async function ensureTracerBuilt(): Promise<void> {
  const behind = readdirSync(join(repoRoot, 'src/tracer'))
    .filter((f) => f.endsWith('.ts'))
    .some((f) => {
      const source = statSync(join(repoRoot, 'src/tracer', f)).mtimeMs;
      return ['dist/tracer', 'dist/cjs/tracer'].some((out) => {
        const built = join(repoRoot, out, f.replace(/\.ts$/, '.js'));
        return !existsSync(built) || statSync(built).mtimeMs < source;
      });
    });
  if (behind) await promisify(execFile)('npm', ['run', 'build'], { cwd: repoRoot });
}
