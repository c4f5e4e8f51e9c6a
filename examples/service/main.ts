/**
 * @module examples/service/main
 * Command-line entry of the example inference service. Prints one JSON line
 * `{"event":"listening","url":…}` on stdout when ready (orchestrators wait for it), and shuts
 * down cleanly on SIGINT/SIGTERM, flushing the spans.
 */
import { ConfigError, parseServiceArgs, SERVICE_USAGE } from './service-config.js';
import { startInferenceService } from './inference-service.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(SERVICE_USAGE);
    return;
  }
  let config;
  try {
    config = parseServiceArgs(argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`example service: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const service = await startInferenceService(config);
  console.log(JSON.stringify({ event: 'listening', url: service.url, metricsUrl: service.metricsUrl, pid: process.pid }));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void service.close().then(() => {
      console.log(JSON.stringify({ event: 'closed' }));
      // Release the stdin pipe too, or it alone would keep the process alive.
      process.stdin.destroy();
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // The parent (demo, tests) closes our stdin when it goes away: never outlive it.
  if (process.env.EXIT_ON_STDIN_CLOSE === '1') process.stdin.on('close', stop).resume();
}

main().catch((error: unknown) => {
  console.error(`example service: ${(error as Error).message}`);
  process.exitCode = 1;
});
