/**
 * The ops console: one static HTML page and one vanilla script, no build step. The page asks for an ops token (kept in
 * sessionStorage; `#token=` in the URL is taken once and removed) and reads the ops API: a submissions table and, per
 * submission, a timeline picture drawn as SVG — the access window, each agency's review clock with its holds,
 * findings, status changes, notices and webhook deliveries — above the readable timeline. "Sign in for the Temporal
 * UI" gets this browser the short-lived ops session cookie the api's codec endpoint accepts.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Preflight ops console</title>
<link rel="stylesheet" href="/console/console.css">
<link rel="icon" href="data:,">
</head>
<body>
<header>
  <h1>Preflight <span>ops console</span></h1>
  <form id="filters">
    <select name="status"><option value="">any status</option></select>
    <input name="vendor" placeholder="vendor" size="10">
    <input name="agency" placeholder="agency" size="8">
    <button type="submit">Filter</button>
  </form>
  <form id="login" hidden>
    <input name="token" type="password" placeholder="ops token" size="40" autocomplete="off">
    <button type="submit">Sign in</button>
  </form>
  <button id="ui-session" type="button" title="Lets this browser decrypt payloads in the Temporal Web UI for an hour">Sign in for the Temporal UI</button>
  <span id="ui-session-status"></span>
</header>
<main>
  <section id="list">
    <table id="submissions"><thead><tr><th>Submission</th><th>Vendor</th><th>Status</th><th>Agencies</th><th>Planned release</th><th>Submitted</th></tr></thead><tbody></tbody></table>
    <p id="empty" hidden>No submissions match.</p>
  </section>
  <section id="detail" hidden>
    <h2 id="title"></h2>
    <div id="facts"></div>
    <div id="picture"></div>
    <div id="legend"></div>
    <table id="entries"><thead><tr><th>When</th><th>Who</th><th>What</th><th>Led to</th></tr></thead><tbody></tbody></table>
  </section>
  <p id="error" role="alert" hidden></p>
</main>
<script src="/console/console.js"></script>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root { --ink:#1d2433; --muted:#6b7385; --line:#dde2ea; --bg:#f7f8fb; --accent:#2457c5; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { display:flex; align-items:center; gap:24px; padding:12px 24px; background:#fff; border-bottom:1px solid var(--line); }
h1 { font-size:18px; margin:0; } h1 span { color:var(--muted); font-weight:400; }
main { padding:16px 24px; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { background:#eef1f6; font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
#submissions tbody tr { cursor:pointer; } #submissions tbody tr:hover { background:#eef3ff; }
#submissions tr.selected { background:#dfe8ff; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; background:#e8ebf1; }
.pill.CLEARANCE_ISSUED, .pill.RELEASED, .pill.CLOSED { background:#d9f2e3; } .pill.WITHDRAWN, .pill.RETURNED { background:#fde2e1; }
.pill.UNDER_ASSESSMENT { background:#e0e9ff; }
#detail { margin-top:20px; }
#detail h2 { margin:0 0 6px; font-size:16px; }
#facts { color:var(--muted); margin-bottom:8px; }
#picture { background:#fff; border:1px solid var(--line); padding:8px; overflow-x:auto; }
#legend { color:var(--muted); font-size:12px; margin:6px 0 14px; }
#legend span { margin-right:14px; } #legend i { display:inline-block; width:14px; height:10px; margin-right:4px; vertical-align:middle; }
.sw-window { background:#cfe0c3; } .sw-invited { background:#c9d1df; } .sw-clock { background:#2457c5; } .sw-hold { background:#f08c00; }
b.grant { color:#2e8b57; } b.revoke { color:#a11; }
#entries td:nth-child(3) { white-space:normal; }
#error { color:#a11; }
`;

export const CONSOLE_JS = String.raw`(() => {
  'use strict';
  const SEVERITY_COLORS = { CRITICAL: '#7a0019', HIGH: '#d0342c', MEDIUM: '#f08c00', LOW: '#e6c300', INFO: '#6b7385' };
  const AGENCY_COLORS = { INVITED: '#c9d1df', ACCEPTED: '#9db6e8', IN_PROGRESS: '#2457c5', INFO_REQUESTED: '#f08c00', FINDINGS_SUBMITTED: '#2e8b57', NO_FINDINGS: '#2e8b57', DECLINED: '#9aa1ad', DID_NOT_COMPLETE: '#a11', WITHDRAWN: '#9aa1ad' };
  const STATUSES = ['RECEIVED','SCREENING','RETURNED','ACCESS_PROVISIONING','UNDER_ASSESSMENT','CONSOLIDATING','CLEARANCE_ISSUED','RELEASED','CLOSED','WITHDRAWN'];
  const $ = (sel) => document.querySelector(sel);
  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const dur = (ms) => ms < 60000 ? (ms / 1000).toFixed(1) + ' s' : ms < 3600000 ? (ms / 60000).toFixed(1) + ' min' : ms < 86400000 ? (ms / 3600000).toFixed(1) + ' h' : (ms / 86400000).toFixed(1) + ' d';
  const fmt = (iso) => iso ? new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';

  const m = /[#&]token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('preflight-ops-token', decodeURIComponent(m[1]));
    const rest = location.hash.slice(1).split('&').filter((p) => !p.startsWith('token=')).join('&');
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }
  const token = () => sessionStorage.getItem('preflight-ops-token');

  async function api(path) {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + token() } });
    if (res.status === 401) { $('#login').hidden = false; throw new Error('Sign in with an ops token.'); }
    if (!res.ok) { let p = {}; try { p = await res.json(); } catch (e) {} throw new Error((p.title || res.status) + (p.detail ? ': ' + p.detail : '')); }
    return res.json();
  }
  function showError(e) { const el = $('#error'); el.textContent = e.message; el.hidden = false; }

  for (const s of STATUSES) { const o = document.createElement('option'); o.value = s; o.textContent = s; $('#filters select').appendChild(o); }
  $('#login').addEventListener('submit', (ev) => { ev.preventDefault(); sessionStorage.setItem('preflight-ops-token', ev.target.token.value); $('#login').hidden = true; $('#error').hidden = true; loadList(); });
  $('#filters').addEventListener('submit', (ev) => { ev.preventDefault(); loadList(); });
  // The api answers with an HttpOnly cookie scoped to /codec: the Temporal UI's codec requests carry it, this page cannot read it.
  $('#ui-session').addEventListener('click', async () => {
    try {
      const res = await fetch('/ops/session', { method: 'POST', headers: { authorization: 'Bearer ' + token() } });
      if (res.status === 401) { $('#login').hidden = false; throw new Error('Sign in with an ops token.'); }
      if (!res.ok) throw new Error('Temporal UI sign-in failed (' + res.status + ')');
      const s = await res.json();
      $('#ui-session-status').textContent = 'Temporal UI: decrypting until ' + fmt(s.expiresAt);
    } catch (e) { showError(e); }
  });

  async function loadList() {
    const f = new FormData($('#filters')); const q = new URLSearchParams();
    for (const [k, v] of f.entries()) if (v) q.set(k, v);
    const data = await api('/ops/submissions?' + q.toString());
    const body = $('#submissions tbody'); body.innerHTML = '';
    $('#empty').hidden = data.items.length > 0;
    for (const s of data.items) {
      const tr = document.createElement('tr'); tr.dataset.id = s.submissionId;
      tr.innerHTML = '<td>' + esc(s.submissionId) + '</td><td>' + esc(s.vendorId) + '</td><td><span class="pill ' + esc(s.status) + '">' + esc(s.status) + '</span></td><td>' + esc(s.agencies.join(', ')) + '</td><td>' + esc(fmt(s.plannedReleaseAt)) + '</td><td>' + esc(fmt(s.startedAt)) + '</td>';
      tr.addEventListener('click', () => { location.hash = 'submission=' + encodeURIComponent(s.submissionId); });
      body.appendChild(tr);
    }
  }

  async function loadDetail(id) {
    const [overview, timeline] = await Promise.all([api('/ops/submissions/' + encodeURIComponent(id)), api('/ops/submissions/' + encodeURIComponent(id) + '/timeline')]);
    document.querySelectorAll('#submissions tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.id === id));
    const st = overview.state;
    $('#detail').hidden = false;
    $('#title').innerHTML = esc(st.model.name + ' ' + st.model.version) + ' <span class="pill ' + esc(st.status) + '">' + esc(st.status) + '</span>' + (st.notice ? ' notice <b>' + esc(st.notice) + '</b>' : '');
    const w = overview.clocks.window;
    $('#facts').textContent = 'Submission ' + st.submissionId + ' by ' + st.vendorId + ' · planned release ' + fmt(st.plannedReleaseAt) +
      (w ? ' · access window ' + fmt(w.opensAt) + ' → ' + fmt(w.closesAt) + ' (' + w.totalDays.toFixed(1) + ' days)' : '') +
      ' · findings ' + overview.findings.total + (overview.findings.unresolvedCriticalOrHigh ? ' (' + overview.findings.unresolvedCriticalOrHigh + ' unresolved critical/high)' : '');
    $('#picture').innerHTML = picture(timeline, overview);
    $('#legend').innerHTML = '<span><i class="sw-window"></i>access window</span><span><i class="sw-invited"></i>invited</span><span><i class="sw-clock"></i>review clock running</span>' +
      '<span><i class="sw-hold"></i>on hold (information request)</span><span>◆ finding (colour = severity)</span><span>▲ status change</span><span>★ advisory notice</span><span>● webhook delivery</span><span><b class="grant">|</b> grant <b class="revoke">|</b> revoke</span>';
    const tb = $('#entries tbody'); tb.innerHTML = '';
    for (const e of timeline.entries) {
      const tr = document.createElement('tr');
      tr.innerHTML = '<td>' + esc(fmt(e.at)) + '</td><td>' + esc(e.actor) + '</td><td>' + esc(e.summary) + '</td><td>' + esc(e.status || '') + '</td>';
      tb.appendChild(tr);
    }
  }

  function picture(tl, overview) {
    const entries = tl.entries;
    const times = entries.map((e) => Date.parse(e.at));
    const now = Date.parse(overview.clocks.now) || Date.now();
    const t0 = Math.min.apply(null, times.concat([now]));
    let t1 = Math.max.apply(null, times.concat([Date.parse(overview.state.endedAt || '') || now]));
    if (t1 - t0 < 1000) t1 = t0 + 1000;
    const W = 1100, left = 150, right = 40, lane = 34, top = 30;
    const x = (t) => left + (Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0) * (W - left - right);
    const agencies = tl.lanes.agencies;
    const rows = ['Submission', 'Access window'].concat(agencies.map((a) => a.agencyId.toUpperCase())).concat(['Notices & webhooks']);
    const H = top + rows.length * lane + 30;
    const out = ['<svg xmlns="http://www.w3.org/2000/svg" width="' + W + '" height="' + H + '" font-family="system-ui, sans-serif" font-size="11">'];
    out.push('<defs><pattern id="hold" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f08c00"/><rect width="3" height="6" fill="#ffc266"/></pattern></defs>');
    rows.forEach((r, i) => {
      const y = top + i * lane;
      out.push('<rect x="0" y="' + y + '" width="' + W + '" height="' + lane + '" fill="' + (i % 2 ? '#fafbfd' : '#fff') + '"/>');
      out.push('<text x="8" y="' + (y + lane / 2 + 4) + '" font-weight="600" fill="#1d2433">' + esc(r) + '</text>');
    });
    for (let k = 0; k <= 6; k++) {
      const t = t0 + (t1 - t0) * k / 6, X = x(t);
      out.push('<line x1="' + X + '" y1="' + (top - 4) + '" x2="' + X + '" y2="' + (H - 24) + '" stroke="#e3e7ee"/>');
      out.push('<text x="' + X + '" y="' + (top - 10) + '" text-anchor="middle" fill="#6b7385">' + esc(new Date(t).toISOString().slice(11, t1 - t0 < 60000 ? 22 : 19)) + '</text>');
    }
    out.push('<text x="' + left + '" y="' + (H - 8) + '" fill="#6b7385">' + esc(fmt(new Date(t0).toISOString())) + ' → ' + esc(fmt(new Date(t1).toISOString())) + '</text>');
    const rowY = (i) => top + i * lane;
    // Labels go on the first of three sub-rows where they do not overlap the previous label.
    const placer = () => { const ends = [-1e9, -1e9, -1e9]; return (X, width) => { for (let r = 0; r < ends.length; r++) if (X >= ends[r] + 4) { ends[r] = X + width; return r; } return -1; }; };
    const placeStatus = placer();
    for (const e of entries) {
      if (e.kind === 'status' || e.kind === 'submitted') {
        const X = x(Date.parse(e.at)), y = rowY(0);
        out.push('<path d="M' + X + ' ' + (y + 3) + ' l5 8 h-10 z" fill="#2457c5"><title>' + esc(fmt(e.at) + ' ' + e.summary) + '</title></path>');
        const label = (e.status || '').replace(/_/g, ' ');
        const r = placeStatus(X, label.length * 5.2);
        if (r >= 0) out.push('<text x="' + X + '" y="' + (y + 19 + r * 7) + '" fill="#2457c5" font-size="8">' + esc(label) + '</text>');
      }
    }
    const win = tl.lanes.window;
    if (win) {
      const a = Date.parse(win.opensAt), b = Date.parse(win.closesAt), y = rowY(1);
      const x2 = b > t1 ? W - right + 20 : x(b);
      out.push('<rect x="' + x(a) + '" y="' + (y + 9) + '" width="' + Math.max(2, x2 - x(a)) + '" height="16" rx="3" fill="#cfe0c3"><title>access window ' + esc(fmt(win.opensAt) + ' → ' + fmt(win.closesAt)) + '</title></rect>');
      out.push('<text x="' + (x(a) + 6) + '" y="' + (y + 21) + '" fill="#2f5d1f">open ' + esc(fmt(win.opensAt)) + (b > t1 ? ' — closes ' + esc(fmt(win.closesAt)) + ' →' : '') + '</text>');
    }
    agencies.forEach((ag, i) => {
      const y = rowY(2 + i);
      const start = Date.parse(ag.invitedAt || ag.startedAt || '') || t0;
      const end = Date.parse(ag.endedAt || '') || t1;
      out.push('<rect x="' + x(start) + '" y="' + (y + 11) + '" width="' + Math.max(2, x(end) - x(start)) + '" height="12" rx="2" fill="#c9d1df"><title>' + esc(ag.agencyId + ' invited ' + fmt(ag.invitedAt)) + '</title></rect>');
      if (ag.startedAt) {
        const s = Date.parse(ag.startedAt);
        out.push('<rect x="' + x(s) + '" y="' + (y + 11) + '" width="' + Math.max(2, x(end) - x(s)) + '" height="12" rx="2" fill="#2457c5"><title>' + esc(ag.agencyId + ' review clock from ' + fmt(ag.startedAt)) + '</title></rect>');
      }
      for (const h of ag.holds) {
        const a = Date.parse(h.from), b = Date.parse(h.to || '') || t1;
        out.push('<rect x="' + x(a) + '" y="' + (y + 9) + '" width="' + Math.max(3, x(b) - x(a)) + '" height="16" fill="url(#hold)" stroke="#c46f00"><title>' + esc('on hold ' + fmt(h.from) + ' → ' + (h.to ? fmt(h.to) : 'now') + ' ' + (h.requestId || '')) + '</title></rect>');
      }
      const clock = (overview.clocks.agencies || []).find((c) => c.agencyId === ag.agencyId);
      const label = ag.status + (clock ? ' · ' + dur(clock.activeMs) + ' active, ' + dur(clock.onHoldMs) + ' on hold' : '');
      out.push('<text x="' + (Math.min(x(end), W - right - 250) + 6) + '" y="' + (y + 21) + '" fill="' + (AGENCY_COLORS[ag.status] || '#333') + '" font-weight="600">' + esc(label) + '</text>');
      for (const e of entries.filter((e) => e.agencyId === ag.agencyId)) {
        const X = x(Date.parse(e.at));
        if (e.kind === 'finding') {
          out.push('<path d="M' + X + ' ' + (y + 5) + ' l6 7 l-6 7 l-6 -7 z" fill="' + (SEVERITY_COLORS[e.status] || '#333') + '" stroke="#fff"><title>' + esc(fmt(e.at) + ' ' + e.summary) + '</title></path>');
        } else if (e.kind === 'grant' || e.kind === 'revoke') {
          out.push('<line x1="' + X + '" y1="' + (y + 4) + '" x2="' + X + '" y2="' + (y + 30) + '" stroke="' + (e.kind === 'grant' ? '#2e8b57' : '#a11') + '" stroke-width="2"><title>' + esc(fmt(e.at) + ' ' + e.summary) + '</title></line>');
        }
      }
    });
    const ny = rowY(2 + agencies.length);
    const placeNotice = placer();
    for (const e of entries) {
      const X = x(Date.parse(e.at));
      if (e.kind === 'notice') {
        out.push('<text x="' + X + '" y="' + (ny + 21) + '" text-anchor="middle" font-size="16" fill="#7a4cc2">★<title>' + esc(fmt(e.at) + ' ' + e.summary) + '</title></text>');
        const r = placeNotice(X + 9, (e.status || '').length * 6);
        if (r >= 0) out.push('<text x="' + (X + 9) + '" y="' + (ny + 12 + r * 10) + '" fill="#7a4cc2" font-size="9">' + esc(e.status || '') + '</text>');
      } else if (e.kind === 'delivery') {
        out.push('<circle cx="' + X + '" cy="' + (ny + 26) + '" r="3.5" fill="' + (e.status === 'DELIVERED' ? '#2e8b57' : '#d0342c') + '"><title>' + esc(fmt(e.at) + ' ' + e.summary) + '</title></circle>');
      }
    }
    out.push('</svg>');
    return out.join('');
  }

  async function route() {
    try {
      if (!token()) { $('#login').hidden = false; return; }
      await loadList();
      const sel = /submission=([^&]+)/.exec(location.hash);
      if (sel) await loadDetail(decodeURIComponent(sel[1]));
      document.body.dataset.ready = 'true';
    } catch (e) { showError(e); document.body.dataset.ready = 'error'; }
  }
  window.addEventListener('hashchange', route);
  route();
})();
`;
