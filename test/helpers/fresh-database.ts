// A fresh, empty database for one test file on the engine asked for: an SQLite file in its own temporary
// folder, or a uniquely named PostgreSQL database (helpers/postgres.ts). `drop()` removes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/store/engine.js';
import { createTestDatabase } from './postgres.js';

export async function freshDatabase(engine: Engine, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (engine === 'postgres') return createTestDatabase(name);
  const dir = mkdtempSync(join(tmpdir(), `ddsrv-${name}-`));
  return { url: join(dir, `${name}.db`), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}
