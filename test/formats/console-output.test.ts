/**
 * @module test/formats/console-output.test
 * A Python service's stdout as `kubectl logs` or `docker logs` gives it: ConsoleSpanExporter's
 * pretty-printed spans among the server's log lines (uvicorn's, the app's), without Ray's process
 * prefixes. The spans are read and the log lines passed over (a counted leniency), as through
 * Ray; a span another line was printed inside is a skipped record naming its line. Before, a log
 * line before the spans was "expected a trace export … got "INFO: …"" and one after them "expected
 * a JSON value, got 'I'" (exit 2), though the same spans behind Ray's prefixes were read.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { TraceFormatError } from '../../src/formats/index.js';
import { fixture, read, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const STARTED = 'INFO:     Started server process [4021]';
const REQUEST = 'INFO:     10.0.3.9:51230 - "POST /v1/completions HTTP/1.1" 200 OK';
const STOPPED = 'INFO:     Shutting down';

/** The real console fixture's two spans, one after the other. */
const CONSOLE = readFileSync(fixture('python-console/otelio-python-console-span-concatenated.json'), 'utf8').trimEnd();

/** One Ray Serve replica's output of the vLLM console-span fixture, its prefix taken off (the replica run alone, not under Ray). */
function replicaOutput(): string {
  const prefix = '(ServeReplica:default:LLMServer pid=5678) ';
  return readFileSync('test/fixtures/serving/ray-serve-console-spans.synthetic.log', 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length))
    .join('\n');
}

describe('Python console spans among log lines, no process prefix', () => {
  it('log lines before, between and after the spans are passed over and counted; the spans are those of the file alone', async () => {
    const [first, second] = CONSOLE.split(/\n(?=\{)/);
    const file = tmp.write('kubectl-logs.txt', [STARTED, first, REQUEST, second, STOPPED, ''].join('\n'));
    const alone = await read(fixture('python-console/otelio-python-console-span-concatenated.json'));
    const { spans, stats } = await read(file);
    expect(stats.format).toBe('python-console');
    expect(spans).toEqual(alone.spans);
    expect(stats.skipped).toBe(0);
    expect(stats.leniencies).toContain('lines of other output among the spans passed over (log lines): 3');
    // Spans first, log lines after them (the concatenated parse meets a log line).
    const after = await read(tmp.write('spans-then-logs.txt', `${CONSOLE}\n${STOPPED}\n`));
    expect(after.spans).toEqual(alone.spans);
  });

  it('a vLLM replica’s llm_request spans in its own output are its requests, as through Ray', async () => {
    const file = tmp.write('replica.log', `${STARTED}\n${REQUEST}\n${replicaOutput()}\n${STOPPED}\n`);
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.requests).toBe(1);
    expect(result.conventions.map((c) => c.id)).toEqual(['vllm']);
  });

  it('a span another line was printed inside is a skipped record at its line (strict: exit 2), the others read', async () => {
    const lines = CONSOLE.split('\n');
    const second = lines.findIndex((line, i) => i > 0 && line === '{');
    lines.splice(second + 5, 0, REQUEST);
    const file = tmp.write('interleaved.txt', `${lines.join('\n')}\n`);
    const { spans, warnings } = await read(file);
    expect(spans).toHaveLength(1);
    expect(warnings).toEqual([{ file, location: `${second + 1}:1`, message: '1 record skipped: expected a whole span (a line of other output was printed inside this one) (first: got a span that does not parse)', count: 1 }]);
    const error = await read(file, { strict: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as Error).message).toBe(`${file}:${second + 1}:1: expected a whole span (a line of other output was printed inside this one), got a span that does not parse`);
  });

  it('output cut short inside its last span is a skipped record at that span’s line (strict: exit 2), without a process to name', async () => {
    const lines = CONSOLE.split('\n');
    const second = lines.findIndex((line, i) => i > 0 && line === '{');
    // A log line, the first span, then the second one cut off after a few of its lines.
    const file = tmp.write('cut.txt', [STARTED, ...lines.slice(0, second + 4)].join('\n'));
    const { spans, warnings } = await read(file);
    expect(spans).toHaveLength(1);
    expect(warnings).toEqual([{ file, location: `${second + 2}:1`, message: '1 record skipped: expected a whole span (first: got end of file (cut short?))', count: 1 }]);
    const error = await read(file, { strict: true }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`${file}:${second + 2}:1: expected a whole span, got end of file (cut short?)`);
  });

  it('a log with no span in it is still no trace export (exit 2), and a file of JSON that is no span still fails where it breaks', async () => {
    const logs = tmp.write('only-logs.txt', `${STARTED}\n${REQUEST}\n${STOPPED}\n`);
    await expect(read(logs)).rejects.toThrow(/only-logs\.txt:1:1: expected a trace export .*got "INFO: +Started server/);
    const zipkin = tmp.write('zipkin-then-log.json', `${readFileSync(fixture('zipkin-json/zipkin-lens-skew.json'), 'utf8')}\n${STOPPED}\n`);
    // The JSON parser's own error at the log line, not a fallback's.
    await expect(read(zipkin)).rejects.toThrow(TraceFormatError);
    await expect(read(zipkin)).rejects.toThrow(/zipkin-then-log\.json:\d+:1: expected a JSON value, got 'I'$/);
  });
});
