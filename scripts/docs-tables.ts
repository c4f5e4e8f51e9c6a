/**
 * Rewrites the generated tables of docs/diagnosis.md (thresholds, rule inputs) from the rule
 * registry: `npm run docs:tables`. test/diagnose/registry.test.ts fails until it has been run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withGeneratedTables } from '../src/report/diagnosis-tables.js';

const file = new URL('../docs/diagnosis.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withGeneratedTables(before);
if (after !== before) writeFileSync(file, after);
process.stdout.write(after === before ? 'docs/diagnosis.md: tables up to date\n' : 'docs/diagnosis.md: tables rewritten\n');
