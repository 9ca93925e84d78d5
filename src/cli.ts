#!/usr/bin/env node
/**
 * The `ddsrv` command. `serve` runs the service; other commands talk to a running one. Bad flags exit 2
 * with a message naming the flag, as the original did for a malformed address.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, DEFAULTS, resolveServeConfig, type ServeFlags } from './config.js';
import { createLogger } from './logger.js';
import { startServer, StartupError } from './server.js';
import { DatabaseUrlError, SchemaTooNewError, UnsupportedRuntimeError } from './store/open.js';
import { clientCommands } from './client/commands.js';
import { checkConfigCommand } from './check-config.js';
import { VERSION } from './version.js';

const env = (flag: string) => `(env DDSRV_${flag})`;

function serveCommand(): Command {
  return new Command('serve')
    .description('run the delayed-termination service')
    .argument('[HOST:PORT]', `address to listen on, as the original server took it (default ${DEFAULTS.listen})`)
    .option('--listen <HOST:PORT>', `address to listen on ${env('LISTEN')} (default ${DEFAULTS.listen})`)
    .option('--delay <DURATION>', `time from hand-off to termination, e.g. 90, 90s, 5m, 2h, 1d ${env('DELAY')} (default ${DEFAULTS.delay})`)
    .option('--database <URL>', `SQLite file path, or postgres://... for shared state ${env('DATABASE')} (default ./${DEFAULTS.database})`)
    .option('--config <FILE>', `YAML policy file ${env('CONFIG')}`)
    .option('--auth-token <TOKEN>', `token clients must present (Bearer, or Basic password) ${env('AUTH_TOKEN')}`)
    .option('--auth-token-file <FILE>', `read the token from a file ${env('AUTH_TOKEN_FILE')}`)
    .option('--allow-unauthenticated', `serve a non-loopback address without a token ${env('ALLOW_UNAUTHENTICATED=true')}`)
    .option('--dry-run', `do everything but terminate (EC2 DryRun) ${env('DRY_RUN=true')}`)
    .option('--log-level <LEVEL>', `fatal, error, warn, info, debug, trace or silent ${env('LOG_LEVEL')} (default ${DEFAULTS.logLevel})`)
    .option('--body-limit <SIZE>', `largest accepted request body ${env('BODY_LIMIT')} (default ${DEFAULTS.bodyLimit})`)
    .option('--allowed-hosts <NAMES>', `Host names served besides localhost/127.0.0.1/[::1], comma-separated; '*' for any (DNS-rebinding defence) ${env('ALLOWED_HOSTS')}`)
    .option('--max-user-data <SIZE>', `largest user_data of a hand-off, serialized ${env('MAX_USER_DATA')} (default ${DEFAULTS.maxUserData})`)
    .option('--tls-cert <FILE>', `PEM certificate: serve HTTPS ${env('TLS_CERT')}`)
    .option('--tls-key <FILE>', `PEM private key for --tls-cert ${env('TLS_KEY')}`)
    .option('--max-pending <N>', `live terminations beyond which hand-offs get 429 (0: no limit) ${env('MAX_PENDING')} (default 0)`)
    .option('--max-terminations-per-minute <N>', `terminations started per minute; the rest wait (0: no limit) ${env('MAX_TERMINATIONS_PER_MINUTE')} (default 0)`)
    .addOption(new Option('--lease <DURATION>', `how long a worker holds claimed work before others may take it ${env('LEASE')} (default ${DEFAULTS.lease})`))
    .addOption(new Option('--poll-interval <DURATION>', `longest pause between looks at the schedule ${env('POLL_INTERVAL')} (default ${DEFAULTS.pollInterval})`))
    .addOption(new Option('--max-attempts <N>', `tries of a step before it fails ${env('MAX_ATTEMPTS')} (default ${DEFAULTS.maxAttempts})`))
    .addOption(new Option('--retry-base <DURATION>', `first retry delay, doubled each time up to 5m ${env('RETRY_BASE')} (default ${DEFAULTS.retryBase})`))
    .option('--notify-url <URL>', `POST a webhook notification here on chosen transitions ${env('NOTIFY_URL')}`)
    .option('--notify-on <STATES>', `states to notify, comma-separated ${env('NOTIFY_ON')} (default failed,refused)`)
    .option('--notify-format <FORMAT>', `json, or slack for a Slack-compatible {"text"} body ${env('NOTIFY_FORMAT')} (default json)`)
    .action(async (positional: string | undefined, flags: ServeFlags) => {
      if (positional !== undefined && flags.listen !== undefined) {
        throw new ConfigError('give the address once: either HOST:PORT or --listen HOST:PORT');
      }
      const config = resolveServeConfig({ ...flags, listen: positional ?? flags.listen });
      const log = createLogger(config.logLevel);
      const server = await startServer(config, log);
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          log.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        log.info({ signal }, 'signal received');
        server.close().then(
          () => process.exit(0),
          (err) => {
            log.error({ err }, 'error while shutting down');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
}

export function buildProgram(): Command {
  const program = new Command('ddsrv')
    .description('Durable, graceful delayed termination of EC2 instances handed off by Skopos (and others)')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(serveCommand().exitOverride());
  for (const command of [...clientCommands(), checkConfigCommand()]) program.addCommand(command.exitOverride());
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the message; help and version exit 0, usage errors exit 2.
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`ddsrv: error: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof StartupError || err instanceof DatabaseUrlError || err instanceof SchemaTooNewError || err instanceof UnsupportedRuntimeError) {
      process.stderr.write(`ddsrv: cannot start: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`ddsrv: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}

await main(process.argv);
