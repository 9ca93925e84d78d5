/**
 * The service's log as a log pipeline reads it: the real logger (src/logger.ts) in its own process,
 * writing to a pipe. Every line is one JSON object with an ISO time; lines come out whole and in order,
 * also when they are longer than a write chunk and when thousands are logged in one turn of the event loop.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const LOGGER = fileURLToPath(new URL('../../src/logger.ts', import.meta.url));

function logLines(script: string): Record<string, unknown>[] {
  const program = `import { createLogger } from ${JSON.stringify(LOGGER)};\nconst log = createLogger('info');\n${script}`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.equal(lines.pop(), '', 'the output ends with a newline');
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('every line is JSON with an ISO time of when it was logged', () => {
  const before = Date.now();
  const [line] = logLines(`log.info({ instance_id: 'i-0123456789abcdef0' }, 'transition');`);
  const after = Date.now();
  assert.equal(line!.msg, 'transition');
  assert.equal(line!.service, 'ddsrv');
  assert.equal(line!.instance_id, 'i-0123456789abcdef0');
  assert.match(String(line!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const at = Date.parse(String(line!.time));
  assert.ok(at >= before && at <= after, `${String(line!.time)} is between the start and the end of the run`);
});

test('thousands of lines in one turn, some longer than a write chunk, come out whole and in order', () => {
  const lines = logLines(`
    for (let i = 0; i < 5000; i++) log.info({ i, pad: i % 1000 === 7 ? 'x'.repeat(10_000) : 'y' }, 'line');
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 5000; i < 6000; i++) log.info({ i }, 'line');`);
  assert.equal(lines.length, 6000);
  lines.forEach((l, i) => assert.equal(l.i, i));
  assert.equal(lines.filter((l) => l.pad === 'x'.repeat(10_000)).length, 5);
});

test('credentials never reach the log', () => {
  const [line] = logLines(`log.info({ authToken: 'secret-token-value-123', req: { headers: { authorization: 'Bearer secret-token-value-123' } } }, 'x');`);
  assert.doesNotMatch(JSON.stringify(line), /secret-token-value-123/);
});
