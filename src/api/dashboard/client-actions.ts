/**
 * The dashboard's script, second half: cancel and expedite with their confirmation, the detail panel,
 * login and status, filters, and the wiring at load. It continues the closure that client.ts opens (it
 * uses its `app`, `byId`, `load` ...), so it is only ever used as part of DASHBOARD_JS. The same rules:
 * no backticks or dollar-brace in it, values from the API only ever as textContent.
 */
export const DASHBOARD_JS_ACTIONS = `
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
`;
