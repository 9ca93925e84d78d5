/**
 * The body of a notification: `json` (a stable document for programs) or `slack` (Slack's incoming
 * webhook shape, `{"text": ...}`, which Mattermost, Rocket.Chat and others accept too).
 */
import type { Notification } from '../store/ports.js';
import type { NotifyFormat } from './config.js';

export type { Notification } from '../store/ports.js';

const ICONS: Record<string, string> = {
  terminated: ':white_check_mark:',
  stopped: ':double_vertical_bar:',
  gone: ':ghost:',
  cancelled: ':leftwards_arrow_with_hook:',
  refused: ':no_entry:',
  failed: ':x:',
  dry_run: ':test_tube:',
  draining: ':hourglass_flowing_sand:',
  terminating: ':boom:',
};

export function notificationBody(n: Notification, format: NotifyFormat): Record<string, unknown> {
  const t = n.termination;
  if (format === 'slack') {
    const where = [t.region, [t.project, t.component].filter(Boolean).join('/')].filter(Boolean).join(', ');
    const why = n.detail ?? t.reason;
    return {
      text: `${ICONS[n.state] ?? ':information_source:'} ddsrv: ${t.instance_id} (${where}) is *${n.state}*${why ? `: ${why}` : ''} [termination ${t.id}, ${n.event}]`,
    };
  }
  return {
    notification_id: n.id,
    state: n.state,
    event: n.event,
    detail: n.detail,
    at: new Date(n.at).toISOString(),
    termination: {
      id: t.id,
      instance_id: t.instance_id,
      region: t.region,
      project: t.project,
      component: t.component,
      reason: t.reason,
      handed_off_at: new Date(t.created_at).toISOString(),
      due_at: new Date(t.due_at).toISOString(),
    },
  };
}
