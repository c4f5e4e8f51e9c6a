/**
 * gen.mjs MB FILE: writes the bench's generated OTLP JSON lines export (bench/_generate.ts) of at
 * least MB megabytes to FILE, on a machine without the repository's dependencies (bundled with
 * esbuild, see threads-sweep.sh).
 */
import { generate } from '../_generate.js';

await generate(Number(process.argv[2]) * 1024 * 1024, process.argv[3]!);
