// @ts-check
// The two lists and the summary line. "Scheduled and in progress" is soonest due first (order=due),
// "Recent outcomes" newest ended first (order=ended); both are keyset-paged by the API, 50 rows at a time,
// and their first pages are refreshed every 5 s.

/** The list's states the filter keeps (all of them when the filter names none). @param {List} list */
function chosenStates(list) {
  var chosen = app.filters.states;
  if (chosen.length === 0) return list.states;
  return list.states.filter(function (s) { return chosen.indexOf(s) >= 0; });
}

/** @param {List} list @param {number} limit @param {string | null} cursor */
function listQuery(list, limit, cursor) {
  var params = new URLSearchParams();
  params.set('order', list.order);
  params.set('state', chosenStates(list).join(','));
  /** @type {('project' | 'component' | 'instance_id')[]} */
  var keys = ['project', 'component', 'instance_id'];
  keys.forEach(function (k) { if (app.filters[k]) params.set(k, app.filters[k]); });
  params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  return '/api/v1/terminations?' + params.toString();
}

/** @param {List} list @param {boolean} more the next page, or (false) the first pages again */
function load(list, more) {
  var section = byId(list.key);
  if (chosenStates(list).length === 0) {
    section.hidden = true;
    list.items = [];
    list.next = null;
    return Promise.resolve();
  }
  section.hidden = false;
  if (list.loading) return Promise.resolve();
  if (!more && list.items.length > MAX_REFRESH) return Promise.resolve(); // long list: refresh paused
  list.loading = true;
  var limit = more ? PAGE : Math.min(MAX_REFRESH, Math.max(PAGE, list.items.length));
  return api(listQuery(list, limit, more ? list.next : null)).then(function (/** @type {ListPage} */ page) {
    list.items = more ? list.items.concat(page.items) : page.items;
    list.next = page.next;
    render(list);
  }).finally(function () { list.loading = false; });
}

/** @param {Item} item */
function actionButtons(item) {
  var can = ACTIONABLE.indexOf(item.state) >= 0 && !item.final;
  return [
    el('button', { className: 'warn', 'data-action': 'expedite', 'data-id': item.id, disabled: !can, title: 'terminate now, skipping the rest of the delay and drain', onclick: function () { confirmAction('expedite', item); } }, ['Expedite']),
    el('button', { className: 'danger', 'data-action': 'cancel', 'data-id': item.id, disabled: !can, title: 'keep the instance', onclick: function () { confirmAction('cancel', item); } }, ['Cancel'])
  ];
}

/** @param {Item} item */
function idCell(item) {
  return el('td', null, [el('a', { className: 'link mono', href: detailHash(item.id), title: 'details and history' }, ['#' + item.id])]);
}
/** @param {Item} item */
function instanceCell(item) {
  return el('td', { className: 'mono' }, [item.instance_id, el('div', { className: 'sub', text: item.region })]);
}

/** @param {Item} item */
function activeRow(item) {
  var phase = phaseOf(item);
  var note = item.attempts > 0 ? 'retrying (' + item.attempts + '): ' + (item.reason || '') : (item.reason || '');
  return el('tr', { 'data-id': item.id, 'data-instance': item.instance_id, 'data-phase': phase.name }, [
    idCell(item), instanceCell(item),
    el('td', null, [where(item)]),
    el('td', { title: 'state ' + item.state + ', next step ' + item.step }, [badge(phase.name), el('div', { className: 'sub phase-note', text: phase.note })]),
    el('td', null, [countdown(item), el('div', { className: 'sub time', text: when(item.due_at) })]),
    el('td', { className: 'reason', text: localizeTimes(note) }),
    el('td', { className: 'actions' }, actionButtons(item))
  ]);
}

/** @param {Item} item */
function finalRow(item) {
  return el('tr', { 'data-id': item.id, 'data-instance': item.instance_id }, [
    idCell(item), instanceCell(item),
    el('td', null, [where(item)]),
    el('td', null, [badge(item.state)]),
    el('td', null, [el('span', { 'data-ago': item.updated_at, text: ago(item.updated_at) }), el('div', { className: 'sub time', text: when(item.updated_at) })]),
    el('td', { className: 'reason', text: localizeTimes(item.reason || '') })
  ]);
}

/** @param {List} list */
function render(list) {
  var body = byId(list.key + '-rows');
  body.replaceChildren.apply(body, list.items.map(list.key === 'active' ? activeRow : finalRow));
  byId(list.key + '-empty').hidden = list.items.length > 0;
  byId(list.key + '-count').textContent = list.items.length + (list.next ? '+' : '') + ' shown';
  byId(list.key + '-more').hidden = !list.next;
  byId(list.key + '-paused').hidden = list.items.length <= MAX_REFRESH;
}

// ---- the summary line: the whole service, whatever the filters ---------------------------------------
var DAY_MS = 86400000;
var PROBLEMS_LOOKED_AT = 100;

/** The next termination: soonest due of the rows not yet terminating. */
function nextTermination() {
  return api('/api/v1/terminations?order=due&state=pending,draining&limit=1').then(function (/** @type {ListPage} */ page) {
    var next = page.items[0];
    if (!next) return el('span', { id: 'summary-next', text: 'Nothing is scheduled' });
    var link = el('a', { href: detailHash(next.id), className: 'mono', text: next.instance_id + ' (#' + next.id + ')' });
    return el('span', { id: 'summary-next' }, ['Next termination ', countdown(next), ': ', link, ' at ' + when(next.due_at)]);
  });
}

/** Failed and refused terminations that ended in the last 24 h (newest first, so the count stops at the first older one). */
function recentProblems() {
  return api('/api/v1/terminations?order=ended&state=failed,refused&limit=' + PROBLEMS_LOOKED_AT).then(function (/** @type {ListPage} */ page) {
    var since = serverNow() - DAY_MS;
    /** @type {Record<string, number>} */
    var counts = { failed: 0, refused: 0 };
    var all = true;
    page.items.forEach(function (item) {
      if (Date.parse(item.updated_at) >= since) counts[item.state] = (counts[item.state] || 0) + 1;
      else all = false;
    });
    var plus = all && page.next ? '+' : '';
    var parts = ['failed', 'refused'].filter(function (s) { return counts[s] > 0; }).map(function (s) {
      return el('a', { href: '#state=' + s, className: 'problem ' + s, text: counts[s] + plus + ' ' + s });
    });
    if (parts.length === 0) return el('span', { id: 'summary-problems', text: 'none failed in the last 24 h' });
    /** @type {(Node | string)[]} */
    var children = [parts[0]];
    if (parts[1]) children.push(', ', parts[1]);
    children.push(' in the last 24 h');
    return el('span', { id: 'summary-problems' }, children);
  });
}

function renderSummary() {
  return Promise.all([nextTermination(), recentProblems()]).then(function (parts) {
    var line = byId('summary');
    line.replaceChildren(parts[0], '; ', parts[1]);
  });
}
