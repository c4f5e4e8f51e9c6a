// `npm run build` step: the CLI's modules (dist/cli/main.js and everything it imports, the
// analyzer, readers, reports) as one ES module next to it, dist/cli/main.bundle.js, which
// bin/latency-doctor.js runs for analyze and diff. Node's ES module loader resolves, reads and links each of the
// ~150 files one by one: importing the CLI took 154–173 ms of wall and 193–212 ms of CPU, the
// bundle 85–103 ms and 93–105 ms, paid on every run (docs/analyzer.md, "CLI start-up"). npm packages stay
// imports (`packages: 'external'`); the library entry points (dist/index.js, …) are unchanged.
// esbuild's API: https://esbuild.github.io/api/#build
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

await build({
  entryPoints: [fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))],
  outfile: fileURLToPath(new URL('../dist/cli/main.bundle.js', import.meta.url)),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // The sidecar (long-lived: its start-up does not matter) stays out, with the Express server,
  // OpenTelemetry exporter and system probes it imports: bin/latency-doctor.js runs the unbundled
  // CLI for it, so this import is never taken from the bundle.
  external: ['../sidecar/sidecar.js'],
  sourcemap: true,
  logLevel: 'warning',
});
