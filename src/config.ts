/**
 * Flags, environment variables and defaults become one validated, typed configuration, once, at start.
 * Precedence: command-line flag, then `DDSRV_<NAME>`, then the default. Every error names the flag and the
 * variable, and the CLI turns it into exit code 2.
 */
import { readFileSync } from 'node:fs';
import type { Level } from 'pino';
import { DEFAULT_AWS_OPTIONS, type AwsOptions } from './aws/clients.js';
import type { CredentialsWatchOptions } from './aws/credentials.js';
import { DurationError, parseDuration } from './domain/duration.js';
import { ListenError, parseListen, type ListenAddress } from './domain/listen.js';
import { AllowedHostsError, parseAllowedHosts } from './domain/allowed-hosts.js';
import { parseSize, SizeError } from './domain/size.js';
import { loadPolicyFile, PolicyError } from './policy/load.js';
import { Policy } from './policy/resolve.js';
import { DEFAULT_RETRY, type RetryPolicy } from './lib/backoff.js';
import type { PipelineTuning } from './worker/step-kit.js';
import { NotifyConfigError, parseNotifyConfig, type NotifyConfig } from './notify/config.js';

export class ConfigError extends Error {}

/** What commander hands over: strings and booleans, all optional. */
export interface ServeFlags {
  listen?: string;
  delay?: string;
  database?: string;
  config?: string;
  authToken?: string;
  authTokenFile?: string;
  allowUnauthenticated?: boolean;
  dryRun?: boolean;
  logLevel?: string;
  bodyLimit?: string;
  lease?: string;
  pollInterval?: string;
  maxAttempts?: string;
  retryBase?: string;
  notifyUrl?: string;
  notifyOn?: string;
  notifyFormat?: string;
  maxPending?: string;
  maxTerminationsPerMinute?: string;
  tlsCert?: string;
  tlsKey?: string;
  allowedHosts?: string;
  maxUserData?: string;
}

export interface ServeConfig {
  listen: ListenAddress;
  delayMs: number;
  database: string;
  policyFile: string | null;
  /** The policy file's rules (built-in defaults and --delay when there is no file). */
  policy: Policy;
  authToken: string | null;
  allowUnauthenticated: boolean;
  dryRun: boolean;
  logLevel: Level;
  bodyLimitBytes: number;
  /** Largest serialized `user_data` of a hand-off (413 beyond). */
  maxUserDataBytes: number;
  /** `Host` names served besides the loopback ones (`*`: any); null: the listener's default (domain/allowed-hosts.ts). */
  allowedHosts: string[] | '*' | null;
  /** Live terminations beyond which hand-offs get 429; 0 = no ceiling. */
  maxPending: number;
  /** Terminations started per minute (per process); 0 = no ceiling. */
  maxTerminationsPerMinute: number;
  /** PEM certificate and key, read at start, for HTTPS. */
  tls: { cert: Buffer; key: Buffer } | null;
  worker: { leaseMs: number; pollMs: number; claimLimit: number; retry: RetryPolicy };
  aws: AwsOptions;
  /** How often the drain pipeline looks at drains and retries hooks (defaults in worker/step-kit.ts; tests shorten them). */
  pipeline?: Partial<PipelineTuning>;
  /** Webhook notifications (src/notify/), or null when off. */
  notify: NotifyConfig | null;
  /** How often AWS credentials are checked again (defaults in aws/credentials.ts; tests shorten them). */
  credentialsWatch?: Partial<CredentialsWatchOptions>;
}

export const DEFAULTS = {
  listen: '127.0.0.1:8000',
  delay: '10s',
  database: 'ddsrv.db',
  logLevel: 'info',
  bodyLimit: '1MiB',
  maxUserData: '16KiB',
  lease: '30s',
  pollInterval: '1s',
  maxAttempts: String(DEFAULT_RETRY.maxAttempts),
  retryBase: '2s',
  maxPending: '0',
  maxTerminationsPerMinute: '0',
} as const;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `--log-level` <-> `DDSRV_LOG_LEVEL`. */
export const envName = (flag: string) => `DDSRV_${flag.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
const flagName = (flag: string) => `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function resolveServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const pick = <K extends keyof ServeFlags>(name: K): string | undefined => {
    const fromFlag = flags[name];
    if (typeof fromFlag === 'string') return fromFlag;
    const fromEnv = env[envName(name)];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  const bool = (name: 'allowUnauthenticated' | 'dryRun'): boolean => {
    if (flags[name] === true) return true;
    const raw = env[envName(name)];
    if (raw === undefined || raw === '') return false;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`${envName(name)}: '${raw}' is not a boolean (use true or false)`);
  };
  const parse = <T>(name: keyof ServeFlags, fallback: string, parser: (s: string) => T): T => {
    const raw = pick(name) ?? fallback;
    try {
      return parser(raw);
    } catch (err) {
      if (err instanceof DurationError || err instanceof ListenError || err instanceof SizeError || err instanceof ConfigError || err instanceof AllowedHostsError) {
        throw new ConfigError(`${flagName(name)} (or ${envName(name)}): ${err.message}`);
      }
      throw err;
    }
  };
  const positiveInt = (s: string) => {
    if (!/^\d+$/.test(s) || Number(s) < 1) throw new ConfigError(`'${s}' is not a positive whole number`);
    return Number(s);
  };
  const wholeNumber = (s: string) => {
    if (!/^\d+$/.test(s)) throw new ConfigError(`'${s}' is not a whole number (0 means no limit)`);
    return Number(s);
  };
  const positiveDuration = (s: string) => {
    const ms = parseDuration(s);
    if (ms <= 0) throw new ConfigError(`'${s}' must be longer than zero`);
    return ms;
  };

  const logLevel = pick('logLevel') ?? DEFAULTS.logLevel;
  if (!LEVELS.includes(logLevel)) {
    throw new ConfigError(`--log-level (or DDSRV_LOG_LEVEL): '${logLevel}' is not one of ${LEVELS.join(', ')}`);
  }

  const tokenFile = pick('authTokenFile');
  let authToken = pick('authToken') ?? null;
  if (tokenFile !== undefined) {
    if (authToken !== null) throw new ConfigError('give --auth-token or --auth-token-file, not both');
    try {
      authToken = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`--auth-token-file (or DDSRV_AUTH_TOKEN_FILE): cannot read '${tokenFile}': ${(err as Error).message}`);
    }
  }
  if (authToken !== null && authToken.length < 16) {
    throw new ConfigError('--auth-token (or DDSRV_AUTH_TOKEN): use at least 16 characters (e.g. `openssl rand -hex 32`)');
  }

  const tlsCert = pick('tlsCert');
  const tlsKey = pick('tlsKey');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new ConfigError('--tls-cert and --tls-key go together: give both or neither');
  const readPem = (flag: 'tlsCert' | 'tlsKey', path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${flagName(flag)} (or ${envName(flag)}): cannot read '${path}': ${(err as Error).message}`);
    }
  };
  const tls = tlsCert !== undefined && tlsKey !== undefined ? { cert: readPem('tlsCert', tlsCert), key: readPem('tlsKey', tlsKey) } : null;

  const leaseMs = parse('lease', DEFAULTS.lease, positiveDuration);
  let loaded: PolicyConfig;
  try {
    loaded = resolvePolicyConfig(flags, env);
  } catch (err) {
    if (err instanceof PolicyError) throw new ConfigError(`--config (or DDSRV_CONFIG): ${err.message}`);
    throw err;
  }
  const { policyFile, delayMs, policy } = loaded;
  return {
    listen: parse('listen', DEFAULTS.listen, parseListen),
    delayMs,
    database: pick('database') ?? DEFAULTS.database,
    policyFile,
    policy,
    authToken,
    allowUnauthenticated: bool('allowUnauthenticated'),
    dryRun: bool('dryRun'),
    logLevel: logLevel as Level,
    bodyLimitBytes: parse('bodyLimit', DEFAULTS.bodyLimit, parseSize),
    maxUserDataBytes: parse('maxUserData', DEFAULTS.maxUserData, parseSize),
    allowedHosts: pick('allowedHosts') === undefined ? null : parse('allowedHosts', '', parseAllowedHosts),
    maxPending: parse('maxPending', DEFAULTS.maxPending, wholeNumber),
    maxTerminationsPerMinute: parse('maxTerminationsPerMinute', DEFAULTS.maxTerminationsPerMinute, wholeNumber),
    tls,
    worker: {
      leaseMs,
      pollMs: parse('pollInterval', DEFAULTS.pollInterval, positiveDuration),
      claimLimit: 2000,
      retry: {
        ...DEFAULT_RETRY,
        baseMs: parse('retryBase', DEFAULTS.retryBase, positiveDuration),
        maxAttempts: parse('maxAttempts', DEFAULTS.maxAttempts, positiveInt),
      },
    },
    aws: DEFAULT_AWS_OPTIONS,
    notify: notifyFrom(pick),
  };
}

export interface PolicyConfig {
  policyFile: string | null;
  delayMs: number;
  policy: Policy;
}

/**
 * `--config` and `--delay` (or DDSRV_CONFIG, DDSRV_DELAY) -> the policy, as `serve` loads it and
 * `ddsrv check-config` checks it: one code path. A bad file throws PolicyError (`file:line: key: problem`).
 */
export function resolvePolicyConfig(flags: Pick<ServeFlags, 'config' | 'delay'>, env: NodeJS.ProcessEnv = process.env): PolicyConfig {
  const fromEnv = (name: string) => (env[name] === '' ? undefined : env[name]);
  const rawDelay = flags.delay ?? fromEnv('DDSRV_DELAY') ?? DEFAULTS.delay;
  let delayMs: number;
  try {
    delayMs = parseDuration(rawDelay);
  } catch (err) {
    if (err instanceof DurationError) throw new ConfigError(`--delay (or DDSRV_DELAY): ${err.message}`);
    throw err;
  }
  const policyFile = flags.config ?? fromEnv('DDSRV_CONFIG') ?? null;
  return { policyFile, delayMs, policy: new Policy(policyFile === null ? {} : loadPolicyFile(policyFile), delayMs) };
}

/** --notify-url, --notify-on, --notify-format (each also DDSRV_NOTIFY_*): see src/notify/config.ts. */
function notifyFrom(pick: (name: 'notifyUrl' | 'notifyOn' | 'notifyFormat') => string | undefined): NotifyConfig | null {
  try {
    return parseNotifyConfig({ notifyUrl: pick('notifyUrl'), notifyOn: pick('notifyOn'), notifyFormat: pick('notifyFormat') });
  } catch (err) {
    if (err instanceof NotifyConfigError) throw new ConfigError(err.message);
    throw err;
  }
}
