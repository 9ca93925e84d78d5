/** The list of ports fetch refuses matches the running Node: each listed port fails with "bad port", others do not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockedPortProblem, FETCH_BLOCKED_PORTS } from '../../src/domain/fetch-ports.js';

/** What fetch says about a loopback port: 'bad port' without trying, or how the connection went. */
async function fetchVerdict(port: number): Promise<string> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
    return 'answered';
  } catch (err) {
    const cause = (err as { cause?: { message?: string; code?: string } }).cause;
    return cause?.message === 'bad port' ? 'bad port' : (cause?.code ?? (err as Error).name);
  }
}

test("every listed port is one this Node's fetch refuses", async () => {
  for (const port of FETCH_BLOCKED_PORTS) assert.equal(await fetchVerdict(port), 'bad port', `port ${port}`);
});

test('ports next to listed ones are not refused by fetch, nor by blockedPortProblem', async () => {
  // Port 8 and 10 surround 9; 6670 follows the IRC range; 8 is closed here, so fetch only reports the refusal.
  for (const port of [8, 10, 6670, 10081]) {
    assert.notEqual(await fetchVerdict(port), 'bad port', `port ${port}`);
    assert.equal(blockedPortProblem(new URL(`http://127.0.0.1:${port}/`)), null);
  }
  assert.match(blockedPortProblem(new URL('http://127.0.0.1:9/'))!, /port 9 .*refuses/);
  assert.equal(blockedPortProblem(new URL('http://127.0.0.1/')), null, 'the default port is fine');
});
