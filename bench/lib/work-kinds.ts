// Which kind of work a stack is, for the profile summaries (bench/profile.ts for V8's profiles,
// bench/perf-summary.ts for Linux perf's): the first library found walking up from the sampled frame
// decides, so a socket write counts for whoever wrote. Node's own modules and V8 builtins decide nothing.

/** Which package or part of node a script URL belongs to; undefined for no URL. */
export function packageOfUrl(url: string): string | undefined {
  if (url === '') return undefined;
  if (url.startsWith('node:')) return `node:${url.slice(5).replace(/^internal\//, '').split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `ddsrv ${url.slice(dist + 1).split('/').slice(0, 2).join('/')}`;
  return url;
}

export const KINDS: [RegExp, string][] = [
  [/^better-sqlite3$/, 'SQL: better-sqlite3 (SQLite itself)'],
  [/^kysely$/, 'SQL: Kysely (build, compile, driver)'],
  [/^(@aws-sdk\/xml-builder|fast-xml-parser)$/, 'AWS SDK: XML parsing'],
  [/^(@aws-sdk|@smithy)\//, 'AWS SDK: the rest (serialize, sign, middleware, HTTP)'],
  [/^(pino|sonic-boom|pino-std-serializers|thread-stream|on-exit-leak-free)$/, 'logging (pino)'],
  [/^(fastify|find-my-way|avvio|light-my-request|secure-json-parse|@fastify\/.*|fast-json-stringify|abstract-logging|toad-cache|process-warning)$/, 'HTTP server: Fastify'],
  [/^zod$/, 'validation: zod'],
  [/^(prom-client|tdigest|bintrees)$/, 'metrics: prom-client'],
];
export const NON_DECIDING = /^(node:|\(native\/V8 builtins\)$)/;

/** The kind a package stands for, or undefined when it decides nothing (node itself). */
export function kindOfPackage(pkg: string): string | undefined {
  if (NON_DECIDING.test(pkg)) return undefined;
  for (const [re, kind] of KINDS) if (re.test(pkg)) return kind;
  if (pkg.startsWith('ddsrv ')) return `ddsrv's own code (${pkg.slice(6)})`;
  return `other: ${pkg}`;
}
