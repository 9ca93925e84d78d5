/**
 * `ddsrv list | show ID | cancel ID [--restore] | expedite ID`: the operator API from a shell. A readable table by
 * default, `--json` for scripts (the API's own JSON, unchanged). Exit codes: 0 done, 1 refused or
 * unreachable (the message says why), 2 bad usage, 3 conflict (the termination's state does not allow
 * the action; the message names the state).
 */
import { Command, InvalidArgumentError } from 'commander';
import { ACTIVE_STATES, ALL_STATES } from '../domain/states.js';
import { detailText, listTable, type Detail, type Page } from './format.js';
import { ClientError, DEFAULT_URL, request, resolveConnection, type ClientOptions } from './http.js';

interface CommonFlags extends ClientOptions {
  json?: boolean;
}

const write = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

function withConnection(command: Command): Command {
  return command
    .option('--url <URL>', `the ddsrv server (env DDSRV_URL) (default ${DEFAULT_URL})`)
    .option('--token-file <FILE>', 'read the server token from a file (env DDSRV_AUTH_TOKEN_FILE)')
    .option('--token <TOKEN>', 'the server token (env DDSRV_AUTH_TOKEN; visible in ps: prefer --token-file or the variable)')
    .option('--json', 'print the API response as JSON, for scripts');
}

/** Runs an action, turning client errors into a message on stderr and an exit code. */
function guarded<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      process.stderr.write(`ddsrv: error: ${err.message}\n`);
      process.exitCode = err.exitCode;
    }
  };
}

const noSuch = (id: number) => `there is no termination ${id}; \`ddsrv list\` shows them (add --all for every page)`;

function terminationId(value: string): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('a termination id is a positive whole number (see `ddsrv list`)');
  return Number(value);
}

function limit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 500) throw new InvalidArgumentError('a whole number from 1 to 500');
  return Number(value);
}

interface ListFlags extends CommonFlags {
  state?: string;
  project?: string;
  component?: string;
  instance?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
}

function listCommand(): Command {
  return withConnection(
    new Command('list')
      .description('list terminations, newest first')
      .option('--state <STATES>', `only these states, comma-separated (${ALL_STATES.join(', ')}; "active" = ${ACTIVE_STATES.join(',')})`)
      .option('--project <NAME>', 'only this Skopos project')
      .option('--component <NAME>', 'only this Skopos component')
      .option('--instance <ID>', 'only this instance id')
      .option('--limit <N>', 'rows per page, 1-500 (default 50)', limit)
      .option('--cursor <CURSOR>', 'continue after a previous page (its "next")')
      .option('--all', 'follow every page (careful with a large schedule)'),
  ).action(
    guarded(async (flags: ListFlags) => {
      const conn = resolveConnection(flags);
      const params = new URLSearchParams();
      if (flags.state) params.set('state', flags.state === 'active' ? ACTIVE_STATES.join(',') : flags.state);
      if (flags.project) params.set('project', flags.project);
      if (flags.component) params.set('component', flags.component);
      if (flags.instance) params.set('instance_id', flags.instance);
      params.set('limit', String(flags.limit ?? 50));
      let cursor = flags.cursor;
      const items: Page['items'] = [];
      let next: string | null = null;
      do {
        if (cursor) params.set('cursor', cursor);
        const page = await request<Page>(conn, 'GET', `/api/v1/terminations?${params}`);
        items.push(...page.items);
        next = page.next;
        cursor = next ?? undefined;
      } while (flags.all && next);
      const page: Page = { items, next };
      if (flags.json) {
        write(JSON.stringify(page, null, 2));
        return;
      }
      write(listTable(page, Date.now()));
      if (next) process.stderr.write(`(more: add --cursor ${next}, or --all)\n`);
    }),
  );
}

function showCommand(): Command {
  return withConnection(new Command('show').description('one termination with its full history').argument('<ID>', 'termination id', terminationId)).action(
    guarded(async (id: number, flags: CommonFlags) => {
      const detail = await request<Detail>(resolveConnection(flags), 'GET', `/api/v1/terminations/${id}`, undefined, { notFound: noSuch(id) });
      write(flags.json ? JSON.stringify(detail, null, 2) : detailText(detail, Date.now()));
    }),
  );
}

interface ActionFlags extends CommonFlags {
  reason?: string;
  restore?: boolean;
}

function actionCommand(name: 'cancel' | 'expedite', description: string, done: (d: Detail, flags: ActionFlags) => string, extra?: (c: Command) => Command): Command {
  const command = withConnection(
    new Command(name)
      .description(description)
      .argument('<ID>', 'termination id', terminationId)
      .option('--reason <TEXT>', 'your words, kept in the history'),
  );
  return (extra ? extra(command) : command).action(
    guarded(async (id: number, flags: ActionFlags) => {
      const body = { ...(flags.reason ? { reason: flags.reason } : {}), ...(flags.restore ? { restore: true } : {}) };
      const detail = await request<Detail>(resolveConnection(flags), 'POST', `/api/v1/terminations/${id}/${name}`, body, { notFound: noSuch(id) });
      write(flags.json ? JSON.stringify(detail, null, 2) : done(detail, flags));
    }),
  );
}

function cancelled(d: Detail, flags: ActionFlags): string {
  const last = d.history[d.history.length - 1];
  const what = !flags.restore
    ? 'cancelled: the instance is kept'
    : d.state === 'restored'
      ? 'cancelled and restored: the instance is kept (it had left nothing to put back)'
      : `cancelled: the instance is kept and being put back in service (ddsrv show ${d.id} to follow it)`;
  return `termination ${d.id} of ${d.instance_id} (${d.region}) ${what}\n${last?.detail ?? ''}`;
}

export function clientCommands(): Command[] {
  return [
    listCommand(),
    showCommand(),
    actionCommand('cancel', 'cancel a pending or draining termination: the instance is kept (--restore: and put back in service)', cancelled, (c) =>
      c.option(
        '--restore',
        'also undo the drain: re-attach to its Auto Scaling group, re-register with its target groups (same port) and classic load balancers; ends restored, or failed naming what could not be put back (a drain hook that ran is not undone)',
      ),
    ),
    actionCommand('expedite', 'terminate now: skip the rest of the delay and of the drain', (d) => `termination ${d.id} of ${d.instance_id} (${d.region}) expedited: terminating now (ddsrv show ${d.id} to follow it)`),
  ];
}
