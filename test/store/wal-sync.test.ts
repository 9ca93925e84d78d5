import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WalSync } from '../../src/store/sqlite/wal-sync.js';

test('syncs coalesce: callers during a flush share exactly one more flush, which starts after theirs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-wal-'));
  const path = join(dir, 'x.db-wal');
  writeFileSync(path, 'log');
  const wal = new WalSync(path);
  try {
    const first = wal.sync();
    // These arrive while the first flush runs: it may have started before their commits.
    const during = [wal.sync(), wal.sync(), wal.sync()];
    assert.notEqual(during[0], first, 'a caller during a flush waits for a later one');
    assert.equal(during[0], during[1], 'and shares it with the others');
    await Promise.all([first, ...during]);
    assert.equal(wal.flushes, 2);
    await wal.sync();
    assert.equal(wal.flushes, 3, 'a sync after everything settled flushes again');
  } finally {
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flush failure reaches its callers (nothing is acknowledged on an unsynced log)', async () => {
  const wal = new WalSync('/nonexistent-dir/x.db-wal');
  await assert.rejects(wal.sync(), /ENOENT/);
  await wal.close();
});
