// `npm run build` step: writes the HTML report's client (Chart.js + glue) as one script into
// dist/report/html/, so the installed CLI inlines it without needing esbuild at run time.
import { writeFileSync } from 'node:fs';
import { bundleClient, BUNDLE_FILE } from '../dist/report/html/_bundle.js';

const script = await bundleClient();
writeFileSync(new URL(`../dist/report/html/${BUNDLE_FILE}`, import.meta.url), script);
