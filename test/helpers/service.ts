/** A real service (real SQLite file in a temp folder) for `inject()` tests: no socket, no worker. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveServeConfig, type ServeConfig, type ServeFlags } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createService, type Service } from '../../src/server.js';

export interface TestService extends Service {
  dir: string;
  dbPath: string;
}

/** `adjust` may change what flags cannot reach (SDK timeouts and attempts). */
export async function testService(flags: ServeFlags = {}, adjust?: (config: ServeConfig) => void): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'ddsrv-test-'));
  const dbPath = join(dir, 'ddsrv.db');
  const config = resolveServeConfig({ database: dbPath, logLevel: 'silent', ...flags }, {});
  adjust?.(config);
  const service = await createService(config, createLogger('silent'));
  return {
    ...service,
    dir,
    dbPath,
    close: async () => {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const json = { 'content-type': 'application/json' };
