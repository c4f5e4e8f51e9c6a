import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Request tables compare by their rows (test/support/setup.ts).
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: the heavier suites (Prometheus, onnxruntime, Chromium for the HTML report) must not all start at once.
    maxWorkers: 2,
  },
});
