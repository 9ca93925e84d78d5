/**
 * Whether the AWS SDK finds credentials, checked at start and again while they are missing. Without them
 * hand-offs are still accepted (acceptance never depends on AWS), but nothing can be drained or
 * terminated: the start-up log says so at warn, the operator API's status and a metric show it until an
 * instance role, a mounted file or a restart with the variables provides them. The service never refuses
 * to start for it: an instance profile may be attached after the process started.
 */
import type { Logger } from 'pino';

/** The SDK's default credential chain, in its order (what "missing" means was tried). */
export const DEFAULT_CHAIN =
  "the AWS SDK's default credential chain: environment variables (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), " +
  'AWS_PROFILE and the shared files ~/.aws/credentials and ~/.aws/config (including SSO and credential_process), ' +
  'a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, EKS), container credentials (ECS), and the EC2 instance metadata service';

export type CredentialsState = 'unchecked' | 'ok' | 'missing';

export interface CredentialsStatus {
  state: CredentialsState;
  /** ISO time of the last check, or null before the first. */
  checked_at: string | null;
  /** Why they are missing (the SDK's answer), or null. */
  message: string | null;
  /** Where the SDK looked. */
  tried: string;
  /** The SDK's names for where it found them (e.g. CREDENTIALS_ENV_VARS), when it says. */
  source: string[] | null;
  /** ISO time of the next check, or null when none is planned. */
  next_check_at: string | null;
}

export interface CredentialsWatchOptions {
  /** Pause between checks while credentials are missing. */
  recheckMissingMs: number;
  /** Pause between checks while they are present (temporary ones may fail to renew). */
  recheckOkMs: number;
  /** A provider that has not answered after this long counts as missing (it may be a hung credential_process). */
  timeoutMs: number;
}

export const DEFAULT_WATCH: CredentialsWatchOptions = { recheckMissingMs: 30_000, recheckOkMs: 600_000, timeoutMs: 10_000 };

type Resolve = () => Promise<{ $source?: Record<string, unknown> }>;

export class CredentialsWatch {
  private current: CredentialsStatus;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly resolve: Resolve,
    private readonly log: Logger,
    private readonly options: CredentialsWatchOptions = DEFAULT_WATCH,
  ) {
    this.current = { state: 'unchecked', checked_at: null, message: null, tried: tried(), source: null, next_check_at: null };
  }

  status(): CredentialsStatus {
    return this.current;
  }

  /** Checks now, then keeps checking (more often while missing) until stop(). */
  start(): Promise<CredentialsStatus> {
    this.stopped = false;
    return this.checkAndPlan();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One check; logs when the state changes. */
  async check(): Promise<CredentialsStatus> {
    const before = this.current.state;
    let found: { $source?: Record<string, unknown> } | null = null;
    let message: string | null = null;
    let timeout: NodeJS.Timeout | undefined;
    try {
      found = await Promise.race([
        this.resolve(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
        }),
      ]);
    } catch (err) {
      message = (err as Error).message;
    } finally {
      clearTimeout(timeout);
    }
    const source = found?.$source ? Object.keys(found.$source) : null;
    this.current = { state: found ? 'ok' : 'missing', checked_at: new Date().toISOString(), message, tried: tried(), source, next_check_at: null };
    if (this.current.state === 'missing' && before !== 'missing') {
      this.log.warn(
        { aws_credentials: 'missing', tried: this.current.tried, error: message, recheck_every: `${Math.round(this.options.recheckMissingMs / 1000)}s` },
        'NO AWS CREDENTIALS: hand-offs are accepted and recorded, but nothing can be drained or terminated until credentials appear ' +
          '(set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or attach an instance role); checking again periodically',
      );
    } else if (this.current.state === 'ok' && before !== 'ok') {
      this.log.info({ aws_credentials: 'ok', source }, before === 'missing' ? 'AWS credentials found' : 'AWS credentials resolved');
    }
    return this.current;
  }

  private async checkAndPlan(): Promise<CredentialsStatus> {
    const status = await this.check();
    if (this.stopped) return status;
    const pause = status.state === 'ok' ? this.options.recheckOkMs : this.options.recheckMissingMs;
    this.current = { ...status, next_check_at: new Date(Date.now() + pause).toISOString() };
    this.timer = setTimeout(() => void this.checkAndPlan(), pause);
    this.timer.unref(); // never what keeps the process alive
    return this.current;
  }
}

/** The chain, with what this environment turned off. */
function tried(): string {
  const imds = process.env.AWS_EC2_METADATA_DISABLED;
  return imds && imds !== 'false' ? `${DEFAULT_CHAIN} (disabled here by AWS_EC2_METADATA_DISABLED)` : DEFAULT_CHAIN;
}
