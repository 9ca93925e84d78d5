import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommit } from '../../src/lib/group-commit.js';

test('concurrent submissions share one write, each gets its own result', async () => {
  const writes: number[][] = [];
  const gc = new GroupCommit<number, number>(async (items) => {
    writes.push(items);
    return items.map((n) => n * 10);
  });
  const results = await Promise.all([1, 2, 3, 4].map((n) => gc.submit(n)));
  assert.deepEqual(results, [10, 20, 30, 40]);
  assert.deepEqual(writes, [[1, 2, 3, 4]]);
});

test('submissions during a write form the next group', async () => {
  const writes: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const gc = new GroupCommit<number, number>(async (items) => {
    writes.push(items);
    if (writes.length === 1) await gate;
    return items;
  });
  const first = gc.submit(1);
  await new Promise((r) => setImmediate(r));
  const later = [gc.submit(2), gc.submit(3)];
  release();
  assert.deepEqual(await Promise.all([first, ...later]), [1, 2, 3]);
  assert.deepEqual(writes, [[1], [2, 3]]);
});

test('a failed write rejects exactly its group', async () => {
  let fail = true;
  const gc = new GroupCommit<number, number>(async (items) => {
    if (fail) {
      fail = false;
      throw new Error('disk full');
    }
    return items;
  });
  const a = gc.submit(1);
  await assert.rejects(a, /disk full/);
  assert.equal(await gc.submit(2), 2);
  await gc.drain();
});
