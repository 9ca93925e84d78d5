/**
 * PostgreSQL stops answering right after it received a COMMIT (it froze, or the way back broke): the
 * commit may have landed. The hand-off must not be answered "nothing was scheduled" (the instance was
 * terminated later when that was said), but 503 saying the outcome is unknown and that retrying is safe;
 * and the answer must come within the documented `query_timeout`, not after a second wait for a ROLLBACK.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, postgresSkip, queryDatabase, type TestDatabase } from '../helpers/postgres.js';
import { json, testService, type TestService } from '../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const QUERY_TIMEOUT_MS = 1000;
const skip = await postgresSkip();

describe('an unanswered COMMIT on PostgreSQL', { skip }, () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let svc: TestService;
  before(async () => {
    db = await createTestDatabase('commit_unknown');
    const target = new URL(db.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    svc = await testService({ database: `${proxy.via(db.url)}?query_timeout=${QUERY_TIMEOUT_MS}ms` });
  });
  after(async () => {
    await svc?.close();
    await proxy?.stop();
    await db?.drop();
  });

  const handOff = (id: string) => svc.app.inject({ method: 'POST', url: '/delayed-termination', headers: json, payload: { ec2_instance_id: id } });

  test('503 outcome_unknown within query_timeout, saying retrying is safe; the retry finds it scheduled once', async () => {
    assert.equal((await handOff('i-0c0000000000000a1')).statusCode, 200, 'warm: a connection is open');
    proxy.holdRepliesAfter('commit');
    const started = Date.now();
    const res = await handOff('i-0c0000000000000a2');
    const took = Date.now() - started;
    proxy.release();
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error, 'outcome_unknown');
    assert.match(res.json().message, /may or may not have been recorded\. Retrying is safe/);
    assert.doesNotMatch(res.json().message, /nothing was scheduled/);
    assert.equal(res.headers['retry-after'], '5');
    // One query_timeout, not two (Kysely's ROLLBACK on the dead connection used to wait for another).
    assert.ok(took < 2 * QUERY_TIMEOUT_MS, `answered after ${took} ms (query_timeout ${QUERY_TIMEOUT_MS} ms)`);

    // The server did commit it: the truthful answer was "unknown", and the retry is harmless.
    const rows = await queryDatabase<{ id: number }>(db.url, "select id from terminations where instance_id = 'i-0c0000000000000a2'");
    assert.equal(rows.length, 1);
    const retry = await handOff('i-0c0000000000000a2');
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.json().terminations[0].already_scheduled, true);
    assert.equal(Number(retry.json().terminations[0].id), Number(rows[0]!.id));
  });

  test('a query left unanswered before the COMMIT: 503 store_unavailable, nothing scheduled (true), within query_timeout', async () => {
    proxy.holdReplies();
    const started = Date.now();
    const res = await handOff('i-0c0000000000000a3');
    const took = Date.now() - started;
    proxy.release();
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error, 'store_unavailable');
    assert.match(res.json().message, /did not answer in time.*nothing was scheduled/);
    assert.ok(took < 2 * QUERY_TIMEOUT_MS, `answered after ${took} ms`);
    await new Promise((r) => setTimeout(r, 300)); // the server sees the connection close and rolls back
    assert.deepEqual(await queryDatabase(db.url, "select id from terminations where instance_id = 'i-0c0000000000000a3'"), []);
    assert.equal((await handOff('i-0c0000000000000a4')).statusCode, 200, 'healed');
  });
});
