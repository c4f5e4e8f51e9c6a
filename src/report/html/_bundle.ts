/**
 * @module report/html/_bundle
 * Internal: the page's client script, Chart.js and our glue bundled into one minified IIFE by
 * esbuild. `npm run build` writes it next to this module (client.bundle.js) so the installed
 * CLI never needs esbuild; from source (tests, tsx) it is bundled on first use instead.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** File name of the prebuilt bundle, next to this module. */
export const BUNDLE_FILE = 'client.bundle.js';

/** The client entry, from this module in src/ or in dist/. */
function clientEntry(): string {
  const candidates = ['./client/main.ts', '../../../src/report/html/client/main.ts'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const entry = candidates.find((p) => existsSync(p));
  if (entry === undefined) throw new Error(`HTML report client sources not found (looked at ${candidates.join(', ')}); run npm run build`);
  return entry;
}

/** Bundles the client with esbuild (a devDependency) and returns the script. */
export async function bundleClient(): Promise<string> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [clientEntry()],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    write: false,
    legalComments: 'inline',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

let cached: Promise<string> | undefined;

/** The client script: the prebuilt bundle when present, else bundled now (once per process). */
export function clientScript(): Promise<string> {
  cached ??= (async () => {
    // Next to this module in dist/report/html/, or there from the CLI's bundle in dist/cli/
    // (scripts/bundle-cli.mjs), which this module is part of.
    const prebuilt = [`./${BUNDLE_FILE}`, `../report/html/${BUNDLE_FILE}`].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((p) => existsSync(p));
    return prebuilt !== undefined ? readFile(prebuilt, 'utf8') : bundleClient();
  })();
  return cached;
}
