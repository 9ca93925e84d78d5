/**
 * Webhook notifications, configured by the operator only (flags or environment, never a request):
 * `--notify-url URL`, `--notify-on STATES`, `--notify-format json|slack`.
 */
import { blockedPortProblem } from '../domain/fetch-ports.js';
import { ALL_STATES } from '../domain/states.js';

export type NotifyFormat = 'json' | 'slack';

export interface NotifyConfig {
  url: URL;
  /** Notify when a termination enters one of these states (at most once per termination and state). */
  on: ReadonlySet<string>;
  format: NotifyFormat;
  /** One delivery try's time limit. */
  timeoutMs: number;
  /** Tries before a notification is given up (backoff 5 s doubling to 10 min: about 1.5 hours). */
  maxAttempts: number;
}

export class NotifyConfigError extends Error {}

export const DEFAULT_NOTIFY_ON = ['failed', 'refused'] as const;
/** A hand-off is not a transition the worker records (it is the hot path), so `pending` cannot be chosen. */
export const NOTIFIABLE_STATES = ALL_STATES.filter((s) => s !== 'pending');

export interface NotifyFlags {
  notifyUrl?: string;
  notifyOn?: string;
  notifyFormat?: string;
}

/** Null when no URL is set (notifications off). Messages name the flag; the caller adds the variable. */
export function parseNotifyConfig(raw: NotifyFlags): NotifyConfig | null {
  if (raw.notifyUrl === undefined || raw.notifyUrl === '') {
    if (raw.notifyOn !== undefined || raw.notifyFormat !== undefined) {
      throw new NotifyConfigError('--notify-on and --notify-format need --notify-url (or DDSRV_NOTIFY_URL): where should notifications go?');
    }
    return null;
  }
  let url: URL;
  try {
    url = new URL(raw.notifyUrl);
  } catch {
    throw new NotifyConfigError(`--notify-url (or DDSRV_NOTIFY_URL): '${redactUrl(raw.notifyUrl)}' is not a URL; give an http:// or https:// address`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NotifyConfigError(`--notify-url (or DDSRV_NOTIFY_URL): only http:// and https:// URLs can be notified (got ${url.protocol})`);
  }
  const port = blockedPortProblem(url);
  if (port) throw new NotifyConfigError(`--notify-url (or DDSRV_NOTIFY_URL): ${port}`);
  const on = (raw.notifyOn ?? DEFAULT_NOTIFY_ON.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  if (on.length === 0) throw new NotifyConfigError(`--notify-on (or DDSRV_NOTIFY_ON): give one or more of ${NOTIFIABLE_STATES.join(', ')}, comma-separated`);
  for (const state of on) {
    if (!(NOTIFIABLE_STATES as readonly string[]).includes(state)) {
      throw new NotifyConfigError(`--notify-on (or DDSRV_NOTIFY_ON): '${state}' is not a state that can be notified; use ${NOTIFIABLE_STATES.join(', ')}`);
    }
  }
  const format = raw.notifyFormat ?? 'json';
  if (format !== 'json' && format !== 'slack') {
    throw new NotifyConfigError(`--notify-format (or DDSRV_NOTIFY_FORMAT): '${format}' is not json or slack`);
  }
  return { url, on: new Set(on), format, timeoutMs: 10_000, maxAttempts: 15 };
}

/** The URL for logs: a Slack webhook URL's path is its secret, so only the origin is shown. */
export function redactUrl(url: string | URL): string {
  try {
    return `${new URL(url).origin}/...`;
  } catch {
    return '(unparseable URL)';
  }
}
