// @ts-check
// How times, countdowns and states read. Every absolute time is this browser's local time with its offset
// from UTC ("2026-12-03 14:02:11 UTC+01:00", or "UTC" when there is none), in the lists and the history alike.

/** @param {number} n */
function pad(n) { return n < 10 ? '0' + n : String(n); }

/** A duration, e.g. "1h 05m 09s", "42m 03s", "7s". @param {number} ms */
function span(ms) {
  var s = Math.max(0, Math.round(ms / 1000));
  var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (d > 0) return d + 'd ' + h + 'h ' + pad(m) + 'm';
  if (h > 0) return h + 'h ' + pad(m) + 'm ' + pad(sec) + 's';
  if (m > 0) return m + 'm ' + pad(sec) + 's';
  return sec + 's';
}

/** @param {string} iso */
function ago(iso) {
  var ms = serverNow() - Date.parse(iso);
  return ms < 1000 ? 'just now' : span(ms) + ' ago';
}

/** "UTC+01:00" for this browser's offset at that moment (summer time included), "UTC" without one. @param {Date} date */
function zoneOf(date) {
  var minutes = -date.getTimezoneOffset();
  if (minutes === 0) return 'UTC';
  var abs = Math.abs(minutes);
  return 'UTC' + (minutes > 0 ? '+' : '-') + pad(Math.floor(abs / 60)) + ':' + pad(abs % 60);
}

/** @param {string | number | null} value an ISO time or epoch ms */
function when(value) {
  if (value === null || value === '') return '';
  var d = new Date(value);
  if (isNaN(d.getTime())) return String(value);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + ' ' + zoneOf(d);
}

/** The server's prose carries ISO times in UTC: shown like every other time on the page. @param {string} text */
function localizeTimes(text) {
  return text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, function (iso) { return when(iso); });
}

/** @param {Item} item */
function where(item) {
  var p = [item.project, item.component].filter(Boolean).join(' / ');
  return p || '(no project)';
}

/** What a drain step is doing, for a row in it. */
/** @type {Record<string, string>} */
var DOING = {
  guard: 'checking the guards',
  asg_detach: 'leaving its Auto Scaling group',
  lb_deregister: 'leaving its load balancers',
  drain_wait: 'waiting for its connections to drain',
  drain_hook: 'calling the drain hook'
};

/**
 * What a row is doing, in the operator's words: `name` is the badge (a state, or `waiting` for a row whose
 * only step left is the termination and whose due time is ahead), `note` says why.
 * @param {Item} item
 * @returns {{ name: string, note: string }}
 */
function phaseOf(item) {
  var dueIn = Date.parse(item.due_at) - serverNow();
  if (item.state === 'terminating') return { name: 'terminating', note: 'the termination call is under way' };
  if (item.state === 'restoring') return { name: 'restoring', note: 'cancelled: being put back in its Auto Scaling group and load balancers' };
  if (item.state !== 'pending' && item.state !== 'draining') return { name: item.state, note: '' };
  if (item.step === 'terminate') {
    if (dueIn <= 0) return { name: 'due', note: 'its delay is over: the worker terminates it next' };
    return item.state === 'pending'
      ? { name: 'waiting', note: 'nothing to drain: waits out its delay' }
      : { name: 'waiting', note: 'drained: waits out its delay' };
  }
  if (item.state === 'pending') return { name: 'pending', note: 'its drain starts now' };
  return { name: 'draining', note: DOING[item.step] || 'step: ' + item.step };
}

/** @param {string} name */
function badge(name) { return el('span', { className: 'badge ' + name, text: name }); }

// ---- countdowns (ticked every second against the server's clock) -----------------------------------
/** @param {HTMLElement} node */
function countdownText(node) {
  var due = Number(node.getAttribute('data-due'));
  var phase = node.getAttribute('data-phase');
  var left = due - serverNow();
  node.classList.toggle('soon', left > 0 && left < 60000);
  node.classList.toggle('overdue', left <= -5000 && phase !== 'draining' && phase !== 'terminating');
  if (phase === 'terminating') return 'terminating now';
  if (left > 0) return (node.getAttribute('data-label') || 'in') + ' ' + span(left);
  var late = left > -1000 ? 'due now' : 'due ' + span(-left) + ' ago';
  return phase === 'draining' ? late + ', still draining' : late;
}

function tick() {
  document.querySelectorAll('.countdown').forEach(function (node) { node.textContent = countdownText(/** @type {HTMLElement} */ (node)); });
  document.querySelectorAll('[data-ago]').forEach(function (node) { node.textContent = ago(node.getAttribute('data-ago') || ''); });
}

/** @param {Item} item */
function countdown(item) {
  // A termination waiting for a retry is shown counting to that retry, not to its (past) due time.
  var retry = item.attempts > 0 && item.next_attempt_at !== null && Date.parse(item.next_attempt_at) > Date.parse(item.due_at);
  var node = el('span', {
    className: 'countdown',
    'data-due': String(Date.parse(retry && item.next_attempt_at ? item.next_attempt_at : item.due_at)),
    'data-phase': phaseOf(item).name,
    'data-label': retry ? 'retry in' : 'in',
    title: (retry ? 'next try ' + when(item.next_attempt_at) + ', due ' : 'due ') + when(item.due_at)
  });
  node.textContent = countdownText(node);
  return node;
}
