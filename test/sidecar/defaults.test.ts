/**
 * The sidecar's defaults are stated once (src/sidecar/defaults.ts): the CLI's help and the option
 * table of docs/sidecar.md must say the same numbers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerSidecarCommand } from '../../src/cli/sidecar.js';
import { DEFAULT_OTLP_INTERVAL_MS, DEFAULT_PERIOD_MS, DEFAULT_SAMPLES_MAX_MB, DEFAULT_SIDECAR_PORT, DEFAULT_STARTUP_ALLOWANCE_MS, DEFAULT_XML_PERIOD_MS } from '../../src/sidecar/defaults.js';
import { REPO_ROOT } from './support.js';

const DEFAULTS: ReadonlyArray<readonly [string, number]> = [
  ['--port', DEFAULT_SIDECAR_PORT],
  ['--period', DEFAULT_PERIOD_MS],
  ['--xml-period', DEFAULT_XML_PERIOD_MS],
  ['--startup-allowance', DEFAULT_STARTUP_ALLOWANCE_MS],
  ['--otlp-interval', DEFAULT_OTLP_INTERVAL_MS],
  ['--samples-max-mb', DEFAULT_SAMPLES_MAX_MB],
];

describe('sidecar defaults', () => {
  it('the CLI help shows each DEFAULT_* constant', () => {
    const program = new Command('latency-doctor');
    const sidecar = registerSidecarCommand(program);
    // Commander wraps help lines; compare with whitespace folded.
    const help = sidecar.helpInformation().replace(/\s+/g, ' ');
    for (const [flag, value] of DEFAULTS) {
      expect(sidecar.options.find((option) => option.long === flag)?.defaultValue, flag).toBe(value);
      expect(help, flag).toMatch(new RegExp(`${flag} <[a-z]+> [^(]*(?:\\([^)]*\\) [^(]*)?\\(default: ${value}\\)`));
    }
  });

  it("docs/sidecar.md's option table states the same defaults", () => {
    const docs = readFileSync(join(REPO_ROOT, 'docs', 'sidecar.md'), 'utf8');
    for (const [flag, value] of DEFAULTS) {
      const row = docs.split('\n').find((line) => line.startsWith(`| \`${flag} <`));
      expect(row, flag).toBeDefined();
      expect(row?.split('|')[2]?.trim(), flag).toBe(`\`${value}\``);
    }
  });
});
