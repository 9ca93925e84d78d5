/**
 * What an AWS error means for the instances of the call that raised it: classifyAwsError sorts it into a
 * kind (isolate the ids, retry later, or give up) and keeps its code and message for the history. Steps
 * decide on the kind; a step reads the code only for a case of its own (asg-detach's "not part of").
 */

export type ErrorKind =
  /** The call itself worked: EC2 says a DryRun request would have succeeded. */
  | 'dry_run_ok'
  /** Per-instance problems: one id spoils the whole call, so the ids must be isolated. */
  | 'not_found'
  | 'malformed'
  | 'protected'
  | 'incorrect_state'
  /** Whole-call problems worth retrying later: throttling, 5xx, network trouble, credentials, IAM. */
  | 'throttled'
  | 'transient'
  | 'access'
  /** Anything else: retried too (bounded), since giving up on an unknown error loses a termination. */
  | 'unknown';

export interface Classified {
  kind: ErrorKind;
  code: string;
  message: string;
  /** The error names particular instances (only meaningful for per-instance kinds). */
  perInstance: boolean;
}

const BY_CODE: Record<string, ErrorKind> = {
  DryRunOperation: 'dry_run_ok',
  'InvalidInstanceID.NotFound': 'not_found',
  'InvalidInstanceID.Malformed': 'malformed',
  OperationNotPermitted: 'protected',
  IncorrectInstanceState: 'incorrect_state',
  RequestLimitExceeded: 'throttled',
  Throttling: 'throttled',
  ThrottlingException: 'throttled',
  TooManyRequestsException: 'throttled',
  InternalError: 'transient',
  InternalFailure: 'transient',
  ServiceUnavailable: 'transient',
  Unavailable: 'transient',
  TimeoutError: 'transient',
  RequestTimeout: 'transient',
  RequestTimeoutException: 'transient',
  UnauthorizedOperation: 'access',
  AuthFailure: 'access',
  AccessDenied: 'access',
  AccessDeniedException: 'access',
  ExpiredToken: 'access',
  CredentialsProviderError: 'access',
  // Auto Scaling and Elastic Load Balancing (the drain steps decide per-call codes such as
  // ValidationError or InvalidTargetException themselves; these are the whole-call ones).
  ResourceContention: 'throttled',
  ResourceContentionFault: 'throttled',
  DependencyThrottle: 'throttled',
  DependencyThrottleException: 'throttled',
  ScalingActivityInProgress: 'transient',
  ScalingActivityInProgressFault: 'transient',
  HealthUnavailable: 'transient',
  HealthUnavailableException: 'transient',
};

const PER_INSTANCE = new Set<ErrorKind>(['not_found', 'malformed', 'protected', 'incorrect_state']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function classifyAwsError(err: unknown): Classified {
  const e = (err ?? {}) as AwsLikeError;
  const code = e.name && e.name !== 'Error' ? e.name : (e.code ?? 'Error');
  const message = e.message ?? String(err);
  let kind: ErrorKind | undefined = BY_CODE[code];
  if (kind === undefined) {
    const status = e.$metadata?.httpStatusCode;
    if (status !== undefined && status >= 500) kind = 'transient';
    else if (status === undefined && (NETWORK_CODES.has(e.code ?? '') || /socket hang up|timed? ?out|ECONNRESET/i.test(message))) kind = 'transient';
    else kind = 'unknown';
  }
  return { kind, code, message, perInstance: PER_INSTANCE.has(kind) };
}

const INSTANCE_ID_IN_TEXT = /\bi-(?:[0-9a-f]{17}|[0-9a-f]{8})\b/g;

/** The instance ids an error message names, limited to those of the call (AWS names the culprits). */
export function idsNamedIn(message: string, candidates: readonly string[]): string[] {
  const wanted = new Set(candidates);
  return [...new Set(message.match(INSTANCE_ID_IN_TEXT) ?? [])].filter((id) => wanted.has(id));
}
