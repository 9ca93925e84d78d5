// @ts-check
// Sign-in, the filters, the fragment's route, the refresh timer, and the wiring at load.

/** Every state, in the order the page lists them (the page is built from the server's list). @type {string[]} */
var STATES = [];

function refresh() {
  return Promise.all([load(app.lists.active, false), load(app.lists.final, false), renderSummary()])
    .then(function () { setStatus('updated ' + when(serverNow()).slice(11)); })
    .catch(handleError);
}

// ---- sign-in ----------------------------------------------------------------------------------------
/** @param {string} message */
function showLogin(message) {
  stopRefresh();
  byId('app').hidden = true;
  byId('login').hidden = false;
  byId('signout').hidden = true;
  byId('login-error').textContent = message || '';
  byId('token').focus();
}
/** @param {Event} event */
function signIn(event) {
  event.preventDefault();
  var token = inputById('token').value.trim();
  app.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  if (inputById('remember').checked) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  start();
}
function signOut() {
  app.token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
  inputById('token').value = '';
  showLogin('');
}

// ---- filters (kept in the URL fragment, so a view can be shared) -------------------------------------
function stateBoxes() { return /** @type {HTMLInputElement[]} */ (Array.from(document.querySelectorAll('#f-states input[type=checkbox]'))); }

/** @param {Filters} filters */
function showFilters(filters) {
  stateBoxes().forEach(function (box) { box.checked = filters.states.indexOf(box.value) >= 0; });
  inputById('f-project').value = filters.project;
  inputById('f-component').value = filters.component;
  inputById('f-instance').value = filters.instance_id;
}

/** @returns {Filters} */
function filtersShown() {
  return {
    states: stateBoxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; }),
    project: inputById('f-project').value.trim(),
    component: inputById('f-component').value.trim(),
    instance_id: inputById('f-instance').value.trim()
  };
}

/** @param {Filters} filters */
function setFilters(filters) {
  if (filterParams(filters) === filterParams(app.filters)) return;
  app.filters = filters;
  app.lists.active.items = [];
  app.lists.final.items = [];
  if (!byId('app').hidden) refresh();
}

function applyFilters() {
  var filters = filtersShown();
  history.replaceState(history.state, '', urlFor(app.detailId, filters));
  setFilters(filters);
}
/** @type {number | undefined} */
var filterTimer;
function filterSoon() {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(applyFilters, 350);
}
/** @param {string[]} states */
function chooseStates(states) {
  stateBoxes().forEach(function (box) { box.checked = states.indexOf(box.value) >= 0; });
  applyFilters();
}

/** Follows the fragment: its filters, and the detail it names (or none). */
function route() {
  var wanted = parseHash();
  showFilters(wanted.filters);
  setFilters(wanted.filters);
  if (wanted.id === app.detailId) return;
  app.detailId = wanted.id;
  if (wanted.id === null) hideDetail();
  else if (!byId('app').hidden) showDetail(wanted.id);
}

// ---- refresh and start --------------------------------------------------------------------------------
function stopRefresh() {
  clearInterval(app.timer);
  app.timer = undefined;
}
function start() {
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('signout').hidden = !app.token;
  stopRefresh();
  if (app.detailId !== null) showDetail(app.detailId);
  refresh().then(function () {
    if (byId('app').hidden) return;
    app.timer = setInterval(function () { if (!document.hidden) refresh(); }, REFRESH_MS);
  });
}

document.addEventListener('DOMContentLoaded', function () {
  stateBoxes().forEach(function (box) {
    STATES.push(box.value);
    (box.getAttribute('data-group') === 'active' ? app.lists.active : app.lists.final).states.push(box.value);
    box.addEventListener('change', applyFilters);
  });
  document.querySelectorAll('#f-states button[data-states]').forEach(function (button) {
    var states = (button.getAttribute('data-states') || '').split(',').filter(Boolean);
    button.addEventListener('click', function () { chooseStates(states); });
  });
  byId('login-form').addEventListener('submit', signIn);
  byId('signout').addEventListener('click', signOut);
  ['f-project', 'f-component', 'f-instance'].forEach(function (id) { byId(id).addEventListener('input', filterSoon); });
  byId('clear').addEventListener('click', function () {
    showFilters({ states: [], project: '', component: '', instance_id: '' });
    applyFilters();
  });
  byId('active-more').addEventListener('click', function () { load(app.lists.active, true).catch(handleError); });
  byId('final-more').addEventListener('click', function () { load(app.lists.final, true).catch(handleError); });
  byId('confirm-ok').addEventListener('click', function (e) { e.preventDefault(); runAction(); });
  byId('confirm-restore').addEventListener('click', function (e) { e.preventDefault(); runAction(true); });
  byId('confirm-reason').addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); runAction(); } });
  byId('confirm-back').addEventListener('click', function (e) { e.preventDefault(); cancelConfirm(); });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && !confirmDialog().open) closeDetail(); });
  window.addEventListener('hashchange', route);
  // A detail link opens in place (one history entry); with a modifier key the browser does what it does.
  document.addEventListener('click', function (e) {
    var link = e.target instanceof Element ? e.target.closest('a[href^="#/terminations/"]') : null;
    if (!link || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    openDetail(Number((link.getAttribute('href') || '').replace(/^#\/terminations\/(\d+).*$/, '$1')));
  });
  var first = parseHash();
  app.filters = first.filters;
  app.detailId = first.id;
  showFilters(first.filters);
  setInterval(tick, 1000);
  start();
});
