/** Human-readable output of the CLI: aligned tables, relative times, one field per line for `show`. */

export interface Item {
  id: number;
  instance_id: string;
  region: string;
  state: string;
  final: boolean;
  step: string;
  due_at: string;
  next_attempt_at: string | null;
  attempts: number;
  reason: string | null;
  project: string | null;
  component: string | null;
  ip_address: string | null;
  requested_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface Detail extends Item {
  user_data: unknown;
  source_ip: string | null;
  user_agent: string | null;
  history: { at: string; state: string; step: string | null; event: string; detail: string | null }[];
}

export interface Page {
  items: Item[];
  next: string | null;
}

/** `4m 05s`, `2h 03m`, `1d 4h`. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${two(m)}m`;
  if (m > 0) return `${m}m ${two(sec)}s`;
  return `${sec}s`;
}

/** "in 4m 05s" / "3m 10s ago". */
export function relative(iso: string, now: number): string {
  const delta = Date.parse(iso) - now;
  return delta >= 0 ? `in ${span(delta)}` : `${span(-delta)} ago`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export function listTable(page: Page, now: number): string {
  if (page.items.length === 0) return 'no terminations match';
  const rows = [['ID', 'INSTANCE', 'REGION', 'STATE', 'DUE', 'PROJECT/COMPONENT', 'NOTE']];
  for (const t of page.items) {
    const when = t.final ? `ended ${relative(t.updated_at, now)}` : relative(t.due_at, now);
    rows.push([
      String(t.id),
      t.instance_id,
      t.region,
      t.state,
      when,
      [t.project, t.component].filter(Boolean).join('/') || '-',
      truncate((t.attempts > 0 && !t.final ? `retry ${t.attempts}: ` : '') + (t.reason ?? ''), 60),
    ]);
  }
  return table(rows);
}

export function detailText(d: Detail, now: number): string {
  const lines: [string, string][] = [
    ['id', String(d.id)],
    ['instance', `${d.instance_id} (${d.region})`],
    ['state', `${d.state}${d.final ? ' (final)' : ''}`],
    ['step', d.step],
    ['due', `${d.due_at} (${relative(d.due_at, now)})`],
    ['next attempt', d.next_attempt_at ?? '-'],
    ['attempts', String(d.attempts)],
    ['reason', d.reason ?? '-'],
    ['project', d.project ?? '-'],
    ['component', d.component ?? '-'],
    ['ip address', d.ip_address ?? '-'],
    ['handed off', `${d.created_at} by ${d.requested_by ?? '-'}${d.source_ip ? ` from ${d.source_ip}` : ''}`],
    ['user data', d.user_data === null ? '-' : JSON.stringify(d.user_data)],
  ];
  const out = table(lines.map(([k, v]) => [`${k}:`, v]));
  const history = table([
    ['AT', 'EVENT', 'STATE', 'DETAIL'],
    ...d.history.map((h) => [h.at, h.event, h.state, h.detail ?? '']),
  ]);
  return `${out}\n\nhistory:\n${history.replace(/^/gm, '  ')}`;
}
