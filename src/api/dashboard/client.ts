/**
 * The dashboard's script: plain browser JavaScript (no framework, no build step), inlined into the page.
 * Written without backticks and without dollar-brace so it can live in this string as it is; every value
 * from the API is put into the page with textContent, never as HTML.
 *
 * It asks for the token (kept in sessionStorage, or localStorage when "remember" is ticked), pages the
 * API 50 rows at a time, refreshes the first pages every 5 s, and ticks the countdowns every second
 * against the server's clock (from the Date header). The second half of the same closure (actions, the
 * detail panel, login and filters) is in client-actions.ts.
 */
import { ACTIVE_STATES, FINAL_STATES } from '../../domain/states.js';
import { DASHBOARD_JS_ACTIONS } from './client-actions.js';

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

` + DASHBOARD_JS_ACTIONS + `})();
`;
