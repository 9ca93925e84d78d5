// `npm run build`: compiles src/ and copies the dashboard's browser scripts, which are served as they are
// (type-checked, not compiled). An argument builds elsewhere (the walk-through test builds into a temp dir).
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'dist'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
cpSync(join(root, 'src/api/dashboard/browser'), join(outDir, 'api/dashboard/browser'), { recursive: true, filter: (p) => !p.endsWith('tsconfig.json') });
