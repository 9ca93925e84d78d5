/**
 * `ddsrv check-config FILE`: the policy file validated exactly as `serve` loads it (config.ts's
 * resolvePolicyConfig), the effective policy per component printed, and nothing else done: no database,
 * no AWS, no network. Exit 0 when valid; 2 with `file:line: key: problem` lines when not.
 */
import { Command } from 'commander';
import { resolvePolicyConfig } from './config.js';
import { describePolicy, policyText } from './policy/describe.js';
import { PolicyError } from './policy/load.js';

export function checkConfigCommand(): Command {
  return new Command('check-config')
    .description('validate a policy file as `serve --config` would, print the effective policy per component, create nothing')
    .argument('<FILE>', 'the YAML policy file')
    .option('--delay <DURATION>', 'the --delay serve would run with: the delay where the file sets none (env DDSRV_DELAY) (default 10s)')
    .option('--json', 'print the effective policy as JSON')
    .action((file: string, flags: { delay?: string; json?: boolean }) => {
      let loaded;
      try {
        loaded = resolvePolicyConfig({ config: file, delay: flags.delay });
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err; // a bad --delay: a ConfigError, exit 2 like serve's
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      const description = describePolicy(loaded.policy, file, loaded.delayMs);
      process.stdout.write(flags.json ? `${JSON.stringify(description, null, 2)}\n` : policyText(description));
    });
}
