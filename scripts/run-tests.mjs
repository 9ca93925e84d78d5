#!/usr/bin/env node
// Runs every test/**/*.test.ts file with Node's own test runner, TypeScript loaded by tsx.
// Node 20's `--test` does not expand globs, so the files are found here.
// Extra arguments are passed to the runner (e.g. `npm test -- --test-name-pattern=handoff`);
// TEST_FILES=path1,path2 narrows the run to those files.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

const files = process.env.TEST_FILES ? process.env.TEST_FILES.split(',') : findTests('test');
// No --test-force-exit: it ends a file before the suites it registers after a top-level await (e.g.
// `await postgresSkip()`), so their tests silently do not run. Tests close what they open instead.
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', ...process.argv.slice(2), ...files];
// Tests never reach the EC2 instance metadata address (169.254.169.254): a server started without
// credentials looks for them through the SDK's chain, whose last link asks it.
const env = { AWS_EC2_METADATA_DISABLED: 'true', ...process.env };
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env });
process.exit(result.status ?? 1);
