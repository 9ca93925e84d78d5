/**
 * The store contract, the list's query plans (fast with a million rows): every seek the listing makes,
 * in every order, is an index seek with no sort, on both engines. PostgreSQL's test table is tiny, so it
 * is asked which index would serve (no sequential or bitmap scans); a `Sort` node would be a sort all the same.
 * SQLite seeks to the first column of a row-value cursor and checks the rest on the index entries it reads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { seekQuery } from '../../../src/store/reads.js';
import { forEachEngine } from '../../helpers/for-each-engine.js';

type Q = Parameters<typeof seekQuery>[1];

forEachEngine('store-plans', (ctx) => {
  // sql.raw takes no parameters: they are inlined for EXPLAIN (test values only).
  const explain = async (q: Q, state: string | undefined): Promise<string> => {
    const compiled = seekQuery(ctx.db, q, state, 51).compile();
    let text = compiled.sql;
    if (ctx.engine === 'sqlite') {
      for (const p of compiled.parameters) text = text.replace('?', typeof p === 'number' ? String(p) : `'${String(p)}'`);
      const rows = await sql.raw<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`).execute(ctx.db);
      return rows.rows.map((r) => r.detail).join(' | ');
    }
    compiled.parameters.forEach((p, i) => (text = text.replace(new RegExp(`\\$${i + 1}(?!\\d)`), typeof p === 'number' ? String(p) : `'${String(p)}'`)));
    return ctx.db.connection().execute(async (conn) => {
      await sql`set enable_seqscan = off`.execute(conn);
      await sql`set enable_bitmapscan = off`.execute(conn);
      try {
        const rows = await sql.raw<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`).execute(conn);
        return rows.rows.map((r) => r['QUERY PLAN']).join(' | ');
      } finally {
        await sql`reset enable_seqscan`.execute(conn);
        await sql`reset enable_bitmapscan`.execute(conn);
      }
    });
  };

  const noSort = ctx.engine === 'sqlite' ? /TEMP B-TREE/ : /Sort|Seq Scan/;
  const check = async (cases: [Q, string | undefined, RegExp][]) => {
    for (const [q, state, expected] of cases) {
      const text = await explain(q, state);
      assert.match(text, expected, `${JSON.stringify(q)} ${state}: ${text}`);
      assert.doesNotMatch(text, noSort, `no sort: ${text}`);
    }
  };

  test('order=id: every list query is an index seek in id order: no table scan, no sort', async () => {
    if (ctx.engine === 'sqlite') {
      await check([
        [{ limit: 50 }, undefined, /SCAN terminations/], // the primary key, backwards: LIMIT stops it
        [{ limit: 50, after: { id: 500_000 } }, undefined, /SEARCH terminations USING INTEGER PRIMARY KEY \((row)?id<\?\)/],
        [{ limit: 50 }, 'pending', /USING (COVERING )?INDEX terminations_state \(state=\?/],
        [{ limit: 50, project: 'shop' }, 'pending', /USING INDEX terminations_project_state \(project=\? AND state=\?/],
        [{ limit: 50, component: 'web', after: { id: 9 } }, 'failed', /USING INDEX terminations_component_state \(component=\? AND state=\? AND (row)?id<\?\)/],
      ]);
    } else {
      await check([
        [{ limit: 50 }, undefined, /Index Scan Backward using terminations_pkey/],
        [{ limit: 50, after: { id: 500_000 } }, undefined, /Index Scan Backward using terminations_pkey/],
        [{ limit: 50 }, 'pending', /Index Scan Backward using terminations_state /],
        [{ limit: 50, project: 'shop' }, 'pending', /terminations_project_state/],
        [{ limit: 50, component: 'web', after: { id: 9 } }, 'failed', /terminations_component_state/],
      ]);
    }
  });

  test('order=due: one seek per state on (state, due_at, id), keyset from the cursor', async () => {
    const at = 1_750_000_000_000;
    await check(
      ctx.engine === 'sqlite'
        ? [
            [{ limit: 50, order: 'due' }, 'pending', /USING INDEX terminations_state_due \(state=\?\)/],
            [{ limit: 50, order: 'due', after: { at, id: 7 } }, 'draining', /USING INDEX terminations_state_due \(state=\? AND due_at>\?\)/],
          ]
        : [
            [{ limit: 50, order: 'due' }, 'pending', /Index Scan using terminations_state_due/],
            [{ limit: 50, order: 'due', after: { at, id: 7 } }, 'draining', /Index Scan using terminations_state_due .*Index Cond: \(\(state = 'draining'::text\) AND \(ROW\(due_at, id\) > ROW/],
          ],
    );
  });

  test('order=ended: one seek per final state on the final rows\' (state, updated_at, id), keyset from the cursor', async () => {
    const at = 1_750_000_000_000;
    await check(
      ctx.engine === 'sqlite'
        ? [
            [{ limit: 50, order: 'ended' }, 'terminated', /USING INDEX terminations_ended \(state=\?\)/],
            [{ limit: 50, order: 'ended', after: { at, id: 7 } }, 'cancelled', /USING INDEX terminations_ended \(state=\? AND updated_at<\?\)/],
          ]
        : [
            [{ limit: 50, order: 'ended' }, 'terminated', /Index Scan Backward using terminations_ended/],
            [{ limit: 50, order: 'ended', after: { at, id: 7 } }, 'cancelled', /Index Scan Backward using terminations_ended .*ROW\(updated_at, id\) < ROW/],
          ],
    );
  });
}, { clear: false });
