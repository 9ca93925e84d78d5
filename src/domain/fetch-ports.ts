/**
 * Ports Node's `fetch` (undici) refuses to call, failing with `TypeError: fetch failed` (cause "bad port"):
 * the Fetch standard's list (https://fetch.spec.whatwg.org/#port-blocking), as Node 20.20 applies it
 * (test/domain/fetch-ports.test.ts checks each one against the running Node). A URL the service will
 * call (a drain hook, a webhook) on one of these is refused when the configuration is loaded, not when
 * the call fails at run time.
 */
const BLOCKED = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115,
  117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587,
  601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669,
  6679, 6697, 10080,
]);

export const FETCH_BLOCKED_PORTS: readonly number[] = [...BLOCKED];

/** Why `fetch` will not call this URL's port, or null when it will. */
export function blockedPortProblem(url: URL): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.port === '' || !BLOCKED.has(Number(url.port))) return null;
  return `port ${url.port} is one Node's fetch refuses to call (a "bad port" in the Fetch standard); use another port`;
}
