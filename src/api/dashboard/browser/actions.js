// @ts-check
// Cancel (or cancel and restore) and expedite, each after a confirmation that names the instance; the
// toast and error display.

var TEXT = {
  cancel: {
    title: 'Cancel this termination?',
    body: ' will NOT be terminated: it is kept running. If it has already left its load balancers or Auto Scaling group, "Cancel termination" does not put it back; "Cancel and restore" does (a drain hook that already ran is not undone).',
    button: 'Cancel termination', className: 'danger solid', done: 'cancelled'
  },
  expedite: {
    title: 'Terminate now?',
    body: ' will be terminated right away: the rest of its delay and of its drain are skipped.',
    button: 'Terminate now', className: 'warn solid', done: 'expedited'
  }
};

function confirmDialog() { return /** @type {HTMLDialogElement} */ (byId('confirm')); }

/** @param {'cancel' | 'expedite'} action @param {Item} item */
function confirmAction(action, item) {
  var t = TEXT[action];
  app.pending = { action: action, item: item };
  byId('confirm-title').textContent = t.title;
  byId('confirm-body').textContent = item.instance_id + ' (' + item.region + ', ' + where(item) + ', termination #' + item.id + ')' + t.body;
  inputById('confirm-reason').value = '';
  var ok = byId('confirm-ok');
  ok.textContent = t.button;
  ok.className = t.className;
  byId('confirm-restore').hidden = action !== 'cancel';
  confirmDialog().showModal();
}

/** @param {boolean} [restore] cancel and put the instance back where its drain took it from */
function runAction(restore) {
  var p = app.pending;
  app.pending = null;
  confirmDialog().close();
  if (!p) return;
  var done = p;
  var reason = inputById('confirm-reason').value.trim();
  /** @type {{ reason?: string, restore?: boolean }} */
  var body = reason ? { reason: reason } : {};
  if (restore && done.action === 'cancel') body.restore = true;
  api('/api/v1/terminations/' + done.item.id + '/' + done.action, { method: 'POST', body: body })
    .then(function (/** @type {Detail} */ detail) {
      toast(detail.instance_id + ' ' + TEXT[done.action].done + (done.action === 'expedite' ? ': terminating now'
        : !body.restore ? ': it will be kept'
        : detail.state === 'restored' ? ' and restored: it had left nothing to put back'
        : ': it will be kept and put back in service'));
      if (app.detailId === detail.id) renderDetail(detail);
      return refresh();
    })
    .catch(function (err) {
      if (err instanceof ApiError && err.status === 409 && err.body) toast(err.body.message, true);
      else handleError(err);
      return refresh();
    });
}

function cancelConfirm() {
  app.pending = null;
  confirmDialog().close();
}

/** @param {string} text */
function setStatus(text) { byId('status').textContent = text; }

/** @type {number | undefined} */
var toastTimer;
/** @param {string} text @param {boolean} [error] */
function toast(text, error) {
  var t = byId('toast');
  t.textContent = text;
  t.className = error ? 'error' : '';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(function () { t.hidden = true; }, 6000);
}

/** @param {unknown} err */
function handleError(err) {
  if (err instanceof AuthError) return showLogin(app.token ? 'The token was not accepted.' : '');
  var message = err instanceof Error ? err.message : String(err);
  toast(message, true);
  setStatus('error: ' + message);
}
