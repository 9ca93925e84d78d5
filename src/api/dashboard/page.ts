/**
 * The dashboard at `/`: one HTML document with its style and script inlined, built once at start. It
 * holds no data (it asks for the token and calls the operator API with it), so it is served without
 * credentials. Its Content-Security-Policy allows only this script and style (by hash) and requests to
 * this server. The script is the files of browser/ (script.ts).
 */
import { createHash } from 'node:crypto';
import { ACTIVE_STATES, FINAL_STATES } from '../../domain/states.js';
import { DASHBOARD_JS } from './script.js';
import { DASHBOARD_CSS } from './style.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The state filter: a box per state (none ticked: every state), grouped as the two lists are. */
const stateBox = (group: string) => (s: string) => `<label class="chip"><input type="checkbox" value="${s}" data-group="${group}"> ${s}</label>`;
const stateFilter = `<fieldset id="f-states"><legend>States <span class="hint">(none ticked: all)</span></legend>
  <span class="group">${ACTIVE_STATES.map(stateBox('active')).join('')}</span>
  <span class="group">${FINAL_STATES.map(stateBox('final')).join('')}</span>
  <span class="group quick"><button type="button" class="link" data-states="${ACTIVE_STATES.join(',')}">in progress</button>
  <button type="button" class="link" data-states="${FINAL_STATES.join(',')}">outcomes</button>
  <button type="button" class="link" data-states="failed,refused">problems</button></span>
</fieldset>`;

const BODY = `
<header>
  <h1>ddsrv<small>delayed terminations</small></h1>
  <span class="spacer"></span>
  <span class="status" id="status" role="status"></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<div id="login" hidden>
  <h2>Sign in</h2>
  <p>Enter the server token (<code>--auth-token</code>). It is sent only to this server, as a Bearer token.</p>
  <form id="login-form">
    <label>Server token <input id="token" type="password" autocomplete="current-password" required></label>
    <label class="check"><input id="remember" type="checkbox"> Remember on this browser</label>
    <p class="error" id="login-error" role="alert"></p>
    <button class="primary" type="submit">Sign in</button>
  </form>
</div>
<main id="app" hidden>
  <div class="filters">
    ${stateFilter}
    <label>Project <input id="f-project" type="search" placeholder="any"></label>
    <label>Component <input id="f-component" type="search" placeholder="any"></label>
    <label>Instance <input id="f-instance" type="search" placeholder="i-..." spellcheck="false"></label>
    <button type="button" id="clear">Clear</button>
  </div>
  <p id="summary" aria-live="polite"></p>
  <section id="active">
    <h2>Scheduled and in progress <span class="count" id="active-count"></span></h2>
    <table>
      <thead><tr><th>ID</th><th>Instance</th><th>Project / component</th><th>State</th><th>Terminates (soonest first)</th><th>Note</th><th></th></tr></thead>
      <tbody id="active-rows"></tbody>
    </table>
    <div class="empty" id="active-empty" hidden>Nothing is scheduled.</div>
    <div class="more"><button type="button" id="active-more" hidden>Show 50 more</button><span id="active-paused" hidden>Long list: automatic refresh paused (reload the page to refresh).</span></div>
  </section>
  <section id="final">
    <h2>Recent outcomes <span class="count" id="final-count"></span></h2>
    <table>
      <thead><tr><th>ID</th><th>Instance</th><th>Project / component</th><th>Outcome</th><th>Ended (newest first)</th><th>Reason</th></tr></thead>
      <tbody id="final-rows"></tbody>
    </table>
    <div class="empty" id="final-empty" hidden>No outcomes yet.</div>
    <div class="more"><button type="button" id="final-more" hidden>Show 50 more</button><span id="final-paused" hidden>Long list: automatic refresh paused (reload the page to refresh).</span></div>
  </section>
</main>
<aside id="detail" hidden aria-label="termination details"></aside>
<dialog id="confirm">
  <div>
    <h3 id="confirm-title"></h3>
    <p id="confirm-body"></p>
    <label>Note for the history (optional) <input id="confirm-reason" maxlength="500" placeholder="why"></label>
    <div class="buttons">
      <button type="button" id="confirm-back">Back</button>
      <button type="button" id="confirm-restore" class="solid" title="also re-attach it to its Auto Scaling group and re-register it with its load balancers" hidden>Cancel and restore</button>
      <button type="button" id="confirm-ok"></button>
    </div>
  </div>
</dialog>
<div id="toast" role="status" hidden></div>
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ddsrv</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_CSS}</style>
<script>${DASHBOARD_JS}</script>
</head>
<body>${BODY}</body>
</html>
`;

export const DASHBOARD_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${sha256(DASHBOARD_JS)}`,
    `style-src ${sha256(DASHBOARD_CSS)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
