// @ts-check
// The detail panel and the URL fragment it lives in. `#/terminations/42` opens termination 42 (a link
// can be shared); the filters follow as `?state=...&project=...`, or alone (`#project=blog`) without a
// detail. Opening a detail adds a browser history entry, so Back closes it and Forward opens it again.

/** The fragment for a detail (or none) with filters. @param {number | null} id @param {Filters} [filters] */
function detailHash(id, filters) {
  var params = filterParams(filters || app.filters);
  if (id === null) return params ? '#' + params : '';
  return '#/terminations/' + id + (params ? '?' + params : '');
}

/** For history.replaceState: the page without any fragment when there is nothing to say. @param {number | null} id @param {Filters} [filters] */
function urlFor(id, filters) {
  return detailHash(id, filters) || location.pathname + location.search;
}

/** @param {Filters} filters */
function filterParams(filters) {
  var params = new URLSearchParams();
  if (filters.states.length > 0) params.set('state', filters.states.join(','));
  if (filters.project) params.set('project', filters.project);
  if (filters.component) params.set('component', filters.component);
  if (filters.instance_id) params.set('instance_id', filters.instance_id);
  return params.toString();
}

/** The fragment as a detail id and filters. */
function parseHash() {
  var hash = location.hash.slice(1);
  var match = /^\/terminations\/(\d+)(?:\?(.*))?$/.exec(hash);
  var params = new URLSearchParams(match ? match[2] || '' : hash.replace(/^\/?\??/, ''));
  var states = (params.get('state') || '').split(',').filter(function (s) { return STATES.indexOf(s) >= 0; });
  /** @type {Filters} */
  var filters = { states: states, project: params.get('project') || '', component: params.get('component') || '', instance_id: params.get('instance_id') || '' };
  return { id: match ? Number(match[1]) : null, filters: filters };
}

/** @param {number} id */
function openDetail(id) {
  history.pushState({ detailOpenedHere: true }, '', detailHash(id));
  route();
}

function closeDetail() {
  if (app.detailId === null) return;
  // Opened from this page: going back is closing it. Opened from a link: the entry becomes the list.
  if (history.state && history.state.detailOpenedHere) history.back();
  else {
    history.replaceState(null, '', urlFor(null));
    route();
  }
}

/** @param {number} id */
function showDetail(id) {
  return api('/api/v1/terminations/' + id).then(function (/** @type {Detail} */ d) {
    if (app.detailId === d.id) renderDetail(d);
  }).catch(function (err) {
    if (err instanceof ApiError && err.status === 404) {
      toast('There is no termination #' + id + '.', true);
      if (app.detailId === id) closeDetail();
    } else handleError(err);
  });
}

function hideDetail() {
  var panel = byId('detail');
  panel.hidden = true;
  panel.removeAttribute('data-id');
  panel.replaceChildren();
}

/** Whether the history shows a drain step that did something (not only skipped). @param {Detail} d */
function drainedSomething(d) {
  return d.history.some(function (h) { return /^(asg_detach|lb_deregister|drain_wait|drain_hook)\.ok$/.test(h.event); });
}

/** @param {Detail} d */
function stateField(d) {
  var phase = phaseOf(d);
  var note = phase.note;
  if (phase.name === 'waiting' && d.state === 'draining') {
    note = drainedSomething(d) ? 'drained: waits out its delay' : 'nothing to drain: waits out its delay';
  }
  return el('span', null, [badge(phase.name), note ? el('span', { className: 'sub phase-note', text: ' ' + note }) : null]);
}

/** @param {Detail} d */
function renderDetail(d) {
  var panel = byId('detail');
  panel.setAttribute('data-id', String(d.id));
  var due = d.final ? [when(d.due_at)] : [countdown(d), ' at ' + when(d.due_at)];
  /** @type {[string, Node | string][]} */
  var fields = [
    ['State', stateField(d)], ['Instance', d.instance_id], ['Region', d.region], ['Project', d.project || '-'], ['Component', d.component || '-'],
    ['Due', el('span', null, due)], ['Step', d.step + (d.final ? ' (the last one)' : ' (next)')], ['Attempts', String(d.attempts)],
    ['Reason', localizeTimes(d.reason || '-')], ['IP address', d.ip_address || '-'], ['Handed off', when(d.created_at)],
    ['By', (d.requested_by || '-') + (d.source_ip ? ' from ' + d.source_ip : '')], ['User agent', d.user_agent || '-']
  ];
  if (d.final) fields.splice(6, 0, ['Ended', when(d.updated_at)]);
  var dl = el('dl');
  fields.forEach(function (f) {
    dl.appendChild(el('dt', { text: f[0] }));
    dl.appendChild(el('dd', null, [f[1]]));
  });
  var entries = el('ol', { id: 'history' }, d.history.map(function (h) {
    return el('li', null, [
      el('div', null, [el('strong', { text: h.event }), ' ', badge(h.state), h.step ? el('span', { className: 'sub', text: ' step ' + h.step }) : null]),
      el('div', { className: 'when', text: when(h.at) }),
      h.detail ? el('div', { text: localizeTimes(h.detail) }) : null
    ]);
  }));
  /** @type {Node[]} */
  var children = [
    el('div', { className: 'top' }, [
      el('div', null, [el('h3', { text: 'Termination #' + d.id }), el('div', { className: 'mono', text: d.instance_id })]),
      el('div', null, actionButtons(d).concat([el('button', { id: 'detail-close', onclick: closeDetail, title: 'close (Esc)' }, ['Close'])]))
    ]),
    dl, el('h4', { text: 'History' }), entries
  ];
  if (d.user_data !== null && d.user_data !== undefined) {
    children.push(el('h4', { text: 'user_data' }), el('pre', { text: JSON.stringify(d.user_data, null, 2) }));
  }
  panel.replaceChildren.apply(panel, children);
  panel.hidden = false;
}
