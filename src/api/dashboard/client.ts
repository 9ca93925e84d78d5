/**
 * The dashboard's script: plain browser JavaScript (no framework, no build step), inlined into the page.
 * Written without backticks and without dollar-brace so it can live in this string as it is; every value
 * from the API is put into the page with textContent, never as HTML.
 *
 * It asks for the token (kept in sessionStorage, or localStorage when "remember" is ticked), pages the
 * API 50 rows at a time, refreshes the first pages every 5 s, and ticks the countdowns every second
 * against the server's clock (from the Date header).
 */
import { ACTIVE_STATES, FINAL_STATES } from '../../domain/states.js';

/** The states, from domain/states.ts, so the page never lags behind the server. */
const STATES = JSON.stringify({ active: ACTIVE_STATES, final: FINAL_STATES });

export const DASHBOARD_JS = '\n\'use strict\';\nvar DDSRV_STATES = ' + STATES + ';\n' + `(function () {
  var ACTIVE = DDSRV_STATES.active;
  var FINAL = DDSRV_STATES.final;
  var ACTIONABLE = ['pending', 'draining'];
  var PAGE = 50;
  var MAX_REFRESH = 500;
  var REFRESH_MS = 5000;
  var TOKEN_KEY = 'ddsrv.token';

  var app = {
    token: sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || '',
    offset: 0,
    filters: { state: '', project: '', component: '', instance_id: '' },
    lists: {
      active: { key: 'active', states: ACTIVE, items: [], next: null, loading: false },
      final: { key: 'final', states: FINAL, items: [], next: null, loading: false }
    },
    pending: null,
    timer: null
  };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'className') node.className = v;
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }
  function byId(id) { return document.getElementById(id); }
  function serverNow() { return Date.now() + app.offset; }

  function AuthError(message) { this.message = message; }

  function api(path, options) {
    options = options || {};
    var headers = { accept: 'application/json' };
    if (app.token) headers.authorization = 'Bearer ' + app.token;
    var init = { method: options.method || 'GET', headers: headers, cache: 'no-store' };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    return fetch(path, init).then(function (res) {
      var date = Date.parse(res.headers.get('date') || '');
      if (!isNaN(date)) {
        var off = date - Date.now();
        app.offset = Math.abs(off) > 2000 ? off : 0;
      }
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (res.status === 401) throw new AuthError(body && body.message);
        if (!res.ok) {
          var err = new Error((body && body.message) || ('HTTP ' + res.status));
          err.status = res.status;
          err.body = body;
          throw err;
        }
        return body;
      });
    });
  }

  // ---- formatting -------------------------------------------------------------------------------
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function span(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d > 0) return d + 'd ' + h + 'h ' + pad(m) + 'm';
    if (h > 0) return h + 'h ' + pad(m) + 'm ' + pad(sec) + 's';
    if (m > 0) return m + 'm ' + pad(sec) + 's';
    return sec + 's';
  }
  function ago(iso) {
    var ms = serverNow() - Date.parse(iso);
    return ms < 1000 ? 'just now' : span(ms) + ' ago';
  }
  function local(iso) { return iso ? new Date(iso).toLocaleString() : ''; }
  function where(item) {
    var p = [item.project, item.component].filter(Boolean).join(' / ');
    return p || '(no project)';
  }

  // ---- countdowns -----------------------------------------------------------------------------------
  function countdownText(node) {
    var due = Number(node.getAttribute('data-due'));
    var state = node.getAttribute('data-state');
    var left = due - serverNow();
    node.classList.toggle('soon', left > 0 && left < 60000);
    node.classList.toggle('overdue', left <= -5000 && state === 'pending');
    if (state === 'terminating') return 'terminating now';
    if (left > 0) return (node.getAttribute('data-label') || 'in') + ' ' + span(left);
    return state === 'draining' ? 'draining' : 'due ' + span(-left) + ' ago';
  }
  function tick() {
    var nodes = document.querySelectorAll('.countdown');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = countdownText(nodes[i]);
    var rel = document.querySelectorAll('[data-ago]');
    for (var j = 0; j < rel.length; j++) rel[j].textContent = ago(rel[j].getAttribute('data-ago'));
  }
  function countdown(item) {
    // A termination waiting for a retry is shown counting to that retry, not to its (past) due time.
    var retry = item.attempts > 0 && item.next_attempt_at && Date.parse(item.next_attempt_at) > Date.parse(item.due_at);
    var node = el('span', {
      className: 'countdown',
      'data-due': String(Date.parse(retry ? item.next_attempt_at : item.due_at)),
      'data-state': item.state,
      'data-label': retry ? 'retry in' : 'in',
      title: (retry ? 'next try ' + local(item.next_attempt_at) + ', due ' : 'due ') + local(item.due_at)
    });
    node.textContent = countdownText(node);
    return node;
  }

  // ---- lists ----------------------------------------------------------------------------------------
  function chosenStates(list) {
    if (!app.filters.state) return list.states;
    return app.filters.state.split(',').filter(function (s) { return list.states.indexOf(s) >= 0; });
  }
  function query(list, limit, cursor) {
    var params = new URLSearchParams();
    params.set('state', chosenStates(list).join(','));
    ['project', 'component', 'instance_id'].forEach(function (k) { if (app.filters[k]) params.set(k, app.filters[k]); });
    params.set('limit', String(limit));
    if (cursor) params.set('cursor', cursor);
    return '/api/v1/terminations?' + params.toString();
  }
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
    return api(query(list, limit, more ? list.next : null)).then(function (page) {
      list.items = more ? list.items.concat(page.items) : page.items;
      list.next = page.next;
      render(list);
      setStatus('updated ' + new Date().toLocaleTimeString());
    }).finally(function () { list.loading = false; });
  }
  function refresh() {
    return Promise.all([load(app.lists.active, false), load(app.lists.final, false)]).catch(handleError);
  }

  function actionButtons(item) {
    var can = ACTIONABLE.indexOf(item.state) >= 0 && !item.final;
    return [
      el('button', { className: 'warn', 'data-action': 'expedite', 'data-id': item.id, disabled: !can, title: 'terminate now, skipping the rest of the delay and drain', onclick: function () { confirmAction('expedite', item); } }, ['Expedite']),
      el('button', { className: 'danger', 'data-action': 'cancel', 'data-id': item.id, disabled: !can, title: 'keep the instance', onclick: function () { confirmAction('cancel', item); } }, ['Cancel'])
    ];
  }
  function idCell(item) {
    return el('td', null, [el('button', { className: 'link mono', title: 'details and history', onclick: function () { showDetail(item.id); } }, ['#' + item.id])]);
  }
  function instanceCell(item) {
    return el('td', { className: 'mono' }, [item.instance_id, el('div', { className: 'sub', text: item.region })]);
  }
  function badge(state) { return el('span', { className: 'badge ' + state, text: state }); }

  function activeRow(item) {
    var stateCell = [badge(item.state)];
    if (item.step && item.state !== 'pending') stateCell.push(el('div', { className: 'sub', text: 'step: ' + item.step }));
    return el('tr', { 'data-id': item.id, 'data-instance': item.instance_id }, [
      idCell(item), instanceCell(item),
      el('td', null, [where(item)]),
      el('td', null, stateCell),
      el('td', null, [countdown(item), el('div', { className: 'sub', text: local(item.due_at) })]),
      el('td', { className: 'reason', text: item.attempts > 0 ? 'retrying (' + item.attempts + '): ' + (item.reason || '') : (item.reason || '') }),
      el('td', { className: 'actions' }, actionButtons(item))
    ]);
  }
  function finalRow(item) {
    return el('tr', { 'data-id': item.id, 'data-instance': item.instance_id }, [
      idCell(item), instanceCell(item),
      el('td', null, [where(item)]),
      el('td', null, [badge(item.state)]),
      el('td', { title: local(item.updated_at) }, [el('span', { 'data-ago': item.updated_at, text: ago(item.updated_at) })]),
      el('td', { className: 'reason', text: item.reason || '' })
    ]);
  }
  function render(list) {
    var body = byId(list.key + '-rows');
    body.replaceChildren.apply(body, list.items.map(list.key === 'active' ? activeRow : finalRow));
    byId(list.key + '-empty').hidden = list.items.length > 0;
    byId(list.key + '-count').textContent = list.items.length + (list.next ? '+' : '') + ' shown';
    byId(list.key + '-more').hidden = !list.next;
    byId(list.key + '-paused').hidden = list.items.length <= MAX_REFRESH;
  }

  // ---- actions --------------------------------------------------------------------------------------
  var TEXT = {
    cancel: {
      title: 'Cancel this termination?',
      body: ' will NOT be terminated: it is kept running. If it has already left its load balancers or Auto Scaling group, it is not put back.',
      button: 'Cancel termination', className: 'danger solid', done: 'cancelled'
    },
    expedite: {
      title: 'Terminate now?',
      body: ' will be terminated right away: the rest of its delay and of its drain are skipped.',
      button: 'Terminate now', className: 'warn solid', done: 'expedited'
    }
  };
  function confirmAction(action, item) {
    var t = TEXT[action];
    app.pending = { action: action, item: item };
    byId('confirm-title').textContent = t.title;
    byId('confirm-body').textContent = item.instance_id + ' (' + item.region + ', ' + where(item) + ', termination #' + item.id + ')' + t.body;
    byId('confirm-reason').value = '';
    var ok = byId('confirm-ok');
    ok.textContent = t.button;
    ok.className = t.className;
    byId('confirm').showModal();
  }
  function runAction() {
    var p = app.pending;
    app.pending = null;
    byId('confirm').close();
    if (!p) return;
    var reason = byId('confirm-reason').value.trim();
    api('/api/v1/terminations/' + p.item.id + '/' + p.action, { method: 'POST', body: reason ? { reason: reason } : {} })
      .then(function (detail) {
        toast(detail.instance_id + ' ' + TEXT[p.action].done + (p.action === 'cancel' ? ': it will be kept' : ': terminating now'));
        if (byId('detail').getAttribute('data-id') === String(detail.id)) renderDetail(detail);
        return refresh();
      })
      .catch(function (err) {
        if (err && err.status === 409 && err.body) toast(err.body.message, true);
        else handleError(err);
        return refresh();
      });
  }

  // ---- detail ---------------------------------------------------------------------------------------
  function showDetail(id) {
    api('/api/v1/terminations/' + id).then(renderDetail).catch(handleError);
  }
  function renderDetail(d) {
    var panel = byId('detail');
    panel.setAttribute('data-id', String(d.id));
    var fields = [
      ['State', badge(d.state)], ['Instance', d.instance_id], ['Region', d.region], ['Project', d.project || '-'], ['Component', d.component || '-'],
      ['Due', local(d.due_at)], ['Step', d.step], ['Attempts', String(d.attempts)], ['Reason', d.reason || '-'],
      ['IP address', d.ip_address || '-'], ['Handed off', local(d.created_at)], ['By', (d.requested_by || '-') + (d.source_ip ? ' from ' + d.source_ip : '')],
      ['User agent', d.user_agent || '-']
    ];
    var dl = el('dl', null, []);
    fields.forEach(function (f) {
      dl.appendChild(el('dt', { text: f[0] }));
      dl.appendChild(el('dd', null, [f[1]]));
    });
    var history = el('ol', null, d.history.map(function (h) {
      return el('li', null, [
        el('div', null, [el('strong', { text: h.event }), ' ', badge(h.state), h.step ? el('span', { className: 'sub', text: ' step ' + h.step }) : null]),
        el('div', { className: 'when', text: local(h.at) }),
        h.detail ? el('div', { text: h.detail }) : null
      ]);
    }));
    var children = [
      el('div', { className: 'top' }, [
        el('div', null, [el('h3', { text: 'Termination #' + d.id }), el('div', { className: 'mono', text: d.instance_id })]),
        el('div', null, actionButtons(d).concat([el('button', { onclick: closeDetail, title: 'close (Esc)' }, ['Close'])]))
      ]),
      dl,
      el('h4', { text: 'History' }),
      history
    ];
    if (d.user_data !== null && d.user_data !== undefined) {
      children.push(el('h4', { text: 'user_data' }), el('pre', { text: JSON.stringify(d.user_data, null, 2) }));
    }
    panel.replaceChildren.apply(panel, children);
    panel.hidden = false;
  }
  function closeDetail() {
    var panel = byId('detail');
    panel.hidden = true;
    panel.removeAttribute('data-id');
  }

  // ---- login, status, errors ------------------------------------------------------------------------
  function setStatus(text) { byId('status').textContent = text; }
  var toastTimer = null;
  function toast(text, error) {
    var t = byId('toast');
    t.textContent = text;
    t.className = error ? 'error' : '';
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, 6000);
  }
  function handleError(err) {
    if (err instanceof AuthError) return showLogin(app.token ? 'The token was not accepted.' : '');
    toast((err && err.message) || String(err), true);
    setStatus('error: ' + ((err && err.message) || err));
  }
  function showLogin(message) {
    stopRefresh();
    byId('app').hidden = true;
    byId('login').hidden = false;
    byId('signout').hidden = true;
    byId('login-error').textContent = message || '';
    byId('token').focus();
  }
  function signIn(event) {
    event.preventDefault();
    var token = byId('token').value.trim();
    app.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    if (byId('remember').checked) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
    start();
  }
  function signOut() {
    app.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
    byId('token').value = '';
    showLogin('');
  }

  // ---- filters (kept in the URL fragment, so a view can be shared) ---------------------------------
  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    Object.keys(app.filters).forEach(function (k) { app.filters[k] = params.get(k) || ''; });
    byId('f-state').value = app.filters.state;
    if (byId('f-state').value !== app.filters.state) byId('f-state').value = '';
    byId('f-project').value = app.filters.project;
    byId('f-component').value = app.filters.component;
    byId('f-instance').value = app.filters.instance_id;
  }
  function applyFilters() {
    app.filters.state = byId('f-state').value;
    app.filters.project = byId('f-project').value.trim();
    app.filters.component = byId('f-component').value.trim();
    app.filters.instance_id = byId('f-instance').value.trim();
    var params = new URLSearchParams();
    Object.keys(app.filters).forEach(function (k) { if (app.filters[k]) params.set(k, app.filters[k]); });
    history.replaceState(null, '', params.toString() ? '#' + params.toString() : location.pathname);
    app.lists.active.items = [];
    app.lists.final.items = [];
    refresh();
  }
  var filterTimer = null;
  function filterSoon() {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilters, 350);
  }

  function stopRefresh() {
    clearInterval(app.timer);
    app.timer = null;
  }
  function start() {
    byId('login').hidden = true;
    byId('app').hidden = false;
    byId('signout').hidden = !app.token;
    stopRefresh();
    refresh().then(function () {
      if (byId('app').hidden) return;
      app.timer = setInterval(function () { if (!document.hidden) refresh(); }, REFRESH_MS);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    byId('login-form').addEventListener('submit', signIn);
    byId('signout').addEventListener('click', signOut);
    byId('f-state').addEventListener('change', applyFilters);
    ['f-project', 'f-component', 'f-instance'].forEach(function (id) { byId(id).addEventListener('input', filterSoon); });
    byId('clear').addEventListener('click', function () {
      ['f-state', 'f-project', 'f-component', 'f-instance'].forEach(function (id) { byId(id).value = ''; });
      applyFilters();
    });
    byId('active-more').addEventListener('click', function () { load(app.lists.active, true).catch(handleError); });
    byId('final-more').addEventListener('click', function () { load(app.lists.final, true).catch(handleError); });
    byId('confirm-ok').addEventListener('click', function (e) { e.preventDefault(); runAction(); });
    byId('confirm-reason').addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); runAction(); } });
    byId('confirm-back').addEventListener('click', function (e) { e.preventDefault(); app.pending = null; byId('confirm').close(); });
    document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && !byId('confirm').open) closeDetail(); });
    readHash();
    setInterval(tick, 1000);
    start();
  });
})();
`;
