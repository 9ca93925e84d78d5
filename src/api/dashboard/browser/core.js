// @ts-check
// The dashboard's shared state, DOM helpers and API calls. Every value from the API goes into the page as
// textContent (el's `text`, or a string child), never as HTML.

/** @typedef {{ id: number, instance_id: string, region: string, state: string, final: boolean, step: string, due_at: string, next_attempt_at: string | null, attempts: number, reason: string | null, project: string | null, component: string | null, ip_address: string | null, requested_by: string | null, created_at: string, updated_at: string }} Item */
/** @typedef {{ at: string, state: string, step: string | null, event: string, detail: string | null }} HistoryEntry */
/** @typedef {Item & { user_data: unknown, source_ip: string | null, user_agent: string | null, history: HistoryEntry[] }} Detail */
/** @typedef {{ items: Item[], next: string | null }} ListPage */
/** @typedef {{ key: 'active' | 'final', order: 'due' | 'ended', states: string[], items: Item[], next: string | null, loading: boolean }} List */
/** @typedef {{ states: string[], project: string, component: string, instance_id: string }} Filters */

var PAGE = 50;
var MAX_REFRESH = 500;
var REFRESH_MS = 5000;
var TOKEN_KEY = 'ddsrv.token';
var ACTIONABLE = ['pending', 'draining'];

var app = {
  token: sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || '',
  /** Server clock minus this browser's (from the Date header), when they differ by more than 2 s. */
  offset: 0,
  /** @type {Filters} */
  filters: { states: [], project: '', component: '', instance_id: '' },
  /** The termination shown in the detail panel (from the URL fragment), or null. */
  /** @type {number | null} */
  detailId: null,
  lists: {
    /** @type {List} */
    active: { key: 'active', order: 'due', states: [], items: [], next: null, loading: false },
    /** @type {List} */
    final: { key: 'final', order: 'ended', states: [], items: [], next: null, loading: false }
  },
  /** @type {{ action: 'cancel' | 'expedite', item: Item } | null} */
  pending: null,
  /** @type {number | undefined} */
  timer: undefined
};

/**
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs] `text` sets textContent, `className` the class, `on...` a listener
 * @param {(Node | string | null | undefined)[]} [children]
 * @returns {HTMLElement}
 */
function el(tag, attrs, children) {
  var node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'className') node.className = String(v);
      else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
      else node.setAttribute(k, v === true ? '' : String(v));
    });
  }
  (children || []).forEach(function (c) {
    if (c === null || c === undefined) return;
    node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  });
  return node;
}

/** @param {string} id */
function byId(id) {
  var node = document.getElementById(id);
  if (!node) throw new Error('the page has no #' + id);
  return node;
}
/** @param {string} id */
function inputById(id) { return /** @type {HTMLInputElement} */ (byId(id)); }

function serverNow() { return Date.now() + app.offset; }

class AuthError extends Error {}
class ApiError extends Error {
  /** @param {string} message @param {number} status @param {any} body */
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * A same-origin JSON request with the token. 401 throws AuthError, any other failure ApiError.
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [options]
 * @returns {Promise<any>}
 */
function api(path, options) {
  options = options || {};
  /** @type {Record<string, string>} */
  var headers = { accept: 'application/json' };
  if (app.token) headers.authorization = 'Bearer ' + app.token;
  /** @type {RequestInit} */
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
      if (res.status === 401) throw new AuthError((body && body.message) || 'unauthorized');
      if (!res.ok) throw new ApiError((body && body.message) || ('HTTP ' + res.status), res.status, body);
      return body;
    });
  });
}
