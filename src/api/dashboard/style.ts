/** The dashboard's stylesheet (inlined into the page; see page.ts). */
export const DASHBOARD_CSS = `
:root {
  --bg: #f6f7f9; --panel: #fff; --text: #1d2330; --muted: #5d6677; --line: #e2e5ea; --accent: #2457c5;
  --danger: #b42318; --warn: #b54708; --ok: #067647;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
header { display: flex; align-items: center; gap: 16px; padding: 10px 24px; background: #111827; color: #f9fafb; }
header h1 { font-size: 17px; margin: 0; font-weight: 600; letter-spacing: .2px; }
header h1 small { font-weight: 400; color: #9ca3af; margin-left: 8px; font-size: 13px; }
header .spacer { flex: 1; }
header .status { color: #d1d5db; font-size: 12px; }
header button { background: transparent; color: #e5e7eb; border: 1px solid #4b5563; }
main { max-width: 1400px; margin: 0 auto; padding: 16px 24px 48px; }
button { font: inherit; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); color: var(--text); padding: 4px 10px; cursor: pointer; }
button:hover:not(:disabled) { border-color: #9aa4b5; }
button:disabled { opacity: .45; cursor: not-allowed; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--danger); border-color: #f3c4bf; }
button.danger.solid { background: var(--danger); color: #fff; border-color: var(--danger); }
button.warn { color: var(--warn); border-color: #f5d0a9; }
button.warn.solid { background: var(--warn); color: #fff; border-color: var(--warn); }
button.link, a.link, #summary a { border: 0; background: none; color: var(--accent); padding: 0; text-decoration: none; }
a.link:hover, #summary a:hover { text-decoration: underline; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--text); }
label { color: var(--muted); font-size: 12px; display: flex; flex-direction: column; gap: 3px; }
.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 16px; }
.filters input[type=search] { width: 170px; }
#f-states { border: 0; margin: 0; padding: 0; flex-basis: 100%; display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; max-width: 100%; }
#f-states legend { color: var(--muted); font-size: 12px; padding: 0; margin-bottom: 3px; }
#f-states .hint { font-size: 11px; }
#f-states .group { display: inline-flex; flex-wrap: wrap; gap: 4px; }
#f-states .chip { flex-direction: row; align-items: center; gap: 4px; font-size: 12px; color: var(--text); border: 1px solid var(--line); border-radius: 999px; padding: 2px 9px 2px 6px; cursor: pointer; }
#f-states .chip:has(input:checked) { background: #e0eaff; border-color: #9db4ef; }
#f-states .chip input { margin: 0; }
#f-states .quick button { font-size: 12px; }
#summary { margin: 0 0 14px; padding: 9px 14px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; font-size: 14px; }
#summary .countdown { font-weight: 600; }
#summary a.problem.failed { color: var(--danger); font-weight: 600; }
#summary a.problem.refused { color: #4a1fb8; font-weight: 600; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; margin-bottom: 18px; overflow: hidden; }
section > h2 { font-size: 15px; margin: 0; padding: 11px 14px; border-bottom: 1px solid var(--line); display: flex; gap: 10px; align-items: baseline; }
section > h2 .count { color: var(--muted); font-weight: 400; font-size: 13px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; padding: 7px 14px; background: #fafbfc; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 7px 14px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
tbody tr:hover { background: #f9fafb; }
td.mono { white-space: nowrap; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
td .sub { color: var(--muted); font-size: 12px; }
td .sub.time { white-space: nowrap; }
td.actions { white-space: nowrap; text-align: right; }
td.actions button { margin-left: 6px; }
td.reason { max-width: 420px; color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
.countdown { font-variant-numeric: tabular-nums; font-weight: 600; white-space: nowrap; }
.countdown.soon { color: var(--warn); }
.countdown.overdue { color: var(--danger); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; background: #eef2f7; color: #344054; white-space: nowrap; }
.badge.pending { background: #e0eaff; color: #1d3fa3; }
.badge.draining { background: #fef0c7; color: #93370d; }
.badge.waiting { background: #e6f4ff; color: #0b4a6f; }
.badge.due { background: #ffe4d5; color: #9c2a10; }
.badge.terminating { background: #ffe4d5; color: #9c2a10; }
.badge.terminated, .badge.stopped { background: #dcfae6; color: #085d3a; }
.badge.restoring, .badge.restored { background: #d1f4f0; color: #0b5d52; }
.badge.cancelled, .badge.gone, .badge.dry_run { background: #eaecf0; color: #344054; }
.badge.failed { background: #fee4e2; color: #912018; }
.badge.refused { background: #ebe9fe; color: #4a1fb8; }
.empty { padding: 18px 14px; color: var(--muted); }
.more { padding: 10px 14px; display: flex; gap: 12px; align-items: center; color: var(--muted); font-size: 12px; }
#login { max-width: 420px; margin: 64px auto; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
#login h2 { margin: 0 0 8px; font-size: 18px; }
#login p { color: var(--muted); margin: 0 0 16px; }
#login form { display: flex; flex-direction: column; gap: 12px; }
#login input[type=password] { width: 100%; }
#login .check { flex-direction: row; align-items: center; gap: 6px; font-size: 13px; }
#login .error { color: var(--danger); min-height: 1em; margin: 0; }
dialog { border: 1px solid var(--line); border-radius: 10px; padding: 20px 22px; max-width: 520px; box-shadow: 0 12px 40px rgba(16,24,40,.18); }
dialog::backdrop { background: rgba(16,24,40,.35); }
dialog h3 { margin: 0 0 8px; font-size: 16px; }
dialog p { margin: 0 0 12px; color: var(--muted); }
dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 16px; }
dialog input { width: 100%; }
#detail { position: fixed; top: 0; right: 0; bottom: 0; width: min(560px, 100vw); background: var(--panel); border-left: 1px solid var(--line); box-shadow: -8px 0 30px rgba(16,24,40,.12); overflow-y: auto; padding: 18px 22px; z-index: 5; }
#detail h3 { margin: 0 0 4px; font-size: 17px; }
#detail dl { display: grid; grid-template-columns: 130px 1fr; gap: 4px 12px; margin: 14px 0; font-size: 13px; }
#detail dt { color: var(--muted); }
#detail dd { margin: 0; overflow-wrap: anywhere; }
#detail ol { list-style: none; padding: 0; margin: 0; border-left: 2px solid var(--line); }
#detail li { position: relative; padding: 0 0 12px 14px; font-size: 13px; }
#detail li::before { content: ""; position: absolute; left: -6px; top: 5px; width: 10px; height: 10px; border-radius: 50%; background: var(--accent); }
#detail li .when { color: var(--muted); font-size: 12px; }
#detail pre { background: #f6f7f9; padding: 8px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
#detail .top { display: flex; justify-content: space-between; align-items: flex-start; gap: 8px; }
#toast { position: fixed; left: 50%; bottom: 24px; transform: translateX(-50%); background: #111827; color: #fff; padding: 9px 16px; border-radius: 8px; font-size: 13px; box-shadow: 0 8px 24px rgba(0,0,0,.2); z-index: 10; max-width: 90vw; }
#toast.error { background: var(--danger); }
[hidden] { display: none !important; }
`;
