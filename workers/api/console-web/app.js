// The Preflight console: one ES module, no build step, no dependencies. It reads the ops API with the ops token the
// person signs in with (kept in sessionStorage; `#token=` in a link is taken once and removed from the address).
// Pages are hash routes (#/, #/submissions/<id>, #/cases/<fingerprint>, #/deliveries, #/dead-letters, #/audit), so
// every page is a real link. `body[data-ready]` is "loading" while a page loads, then "true" (or "error").

const TOKEN_KEY = 'preflight-ops-token';
const DAY = 24 * 3600 * 1000;
const SUBMISSION_STATUSES = [
  'RECEIVED',
  'SCREENING',
  'RETURNED',
  'ACCESS_PROVISIONING',
  'UNDER_ASSESSMENT',
  'CONSOLIDATING',
  'CLEARANCE_ISSUED',
  'RELEASED',
  'CLOSED',
  'WITHDRAWN',
];
const CASE_STATES = ['OPEN', 'TRIAGED', 'PARTIES_NOTIFIED', 'REMEDIATING', 'PUBLISHED', 'CLOSED', 'DUPLICATE'];
const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED', 'ENDPOINT_DISABLED', 'ENDPOINT_DELETED'];
const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'];
const SEVERITY_COLORS = { CRITICAL: '#7a0019', HIGH: '#c0261e', MEDIUM: '#b35c00', LOW: '#7a6a00', INFO: '#4a5264' };
const TONE = {
  ok: ['CLEARANCE_ISSUED', 'RELEASED', 'CLOSED', 'DELIVERED', 'FINDINGS_SUBMITTED', 'NO_FINDINGS', 'CLEAR', 'PUBLISHED', 'CONFIRMED', 'done'],
  warn: ['INFO_REQUESTED', 'PENDING', 'CLEAR_WITH_RECOMMENDATIONS', 'REMEDIATING', 'TRIAGED', 'running', 'matching', 'AWAITING_CONFIRMATION', 'MEDIUM'],
  bad: ['WITHDRAWN', 'RETURNED', 'FAILED', 'ENDPOINT_DISABLED', 'DID_NOT_COMPLETE', 'CONCERNS_NOTED', 'CRITICAL', 'HIGH', 'REJECTED', 'failed'],
  info: ['UNDER_ASSESSMENT', 'IN_PROGRESS', 'ACCEPTED', 'OPEN', 'PARTIES_NOTIFIED'],
};

// ---------------------------------------------------------------------------------------------------------------
// Small helpers: escaping templates, formatting, the API

const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
class Raw {
  constructor(s) {
    this.s = s;
  }
  toString() {
    return this.s;
  }
}
const raw = (s) => new Raw(s);
/** Tagged template: interpolations are escaped unless raw() or arrays of html``. */
function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    const part = v instanceof Raw ? v.s : Array.isArray(v) ? v.map((x) => (x instanceof Raw ? x.s : esc(x))).join('') : esc(v);
    out += part + strings[i + 1];
  });
  return raw(out);
}
const $ = (sel, root = document) => root.querySelector(sel);
const fmt = (iso) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d+Z$/, ' UTC')
        .replace(/:\d\dZ$/, ' UTC')
    : '—';
const day = (iso) => (iso ? new Date(iso).toISOString().slice(0, 10) : '—');
const days = (n) => (Math.abs(n) < 1 ? (Math.abs(n) * 24).toFixed(1) + ' h' : n.toFixed(1) + ' d');
const tone = (v) => Object.keys(TONE).find((k) => TONE[k].includes(v)) || '';
const pill = (v, label) => html`<span class="pill ${tone(v)}">${(label ?? v ?? '—').toString().replace(/_/g, ' ')}</span>`;
const words = (v) => String(v ?? '').replace(/_/g, ' ');
const enc = encodeURIComponent;

function takeTokenFromAddress() {
  const m = /[#&]token=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  const rest = location.hash
    .slice(1)
    .split('&')
    .filter((p) => !p.startsWith('token='));
  // The old console's `#token=…&submission=<id>` links open the submission page.
  const sub = rest.find((p) => p.startsWith('submission='));
  const next = sub ? '#/submissions/' + sub.slice('submission='.length) : rest.length ? '#' + rest.join('&') : '#/';
  history.replaceState(null, '', location.pathname + location.search + next);
}
const token = () => sessionStorage.getItem(TOKEN_KEY);

class ApiError extends Error {
  constructor(status, problem) {
    super((problem.title || 'HTTP ' + status) + (problem.detail ? ': ' + problem.detail : ''));
    this.status = status;
    this.problem = problem;
  }
}

async function api(path, options = {}) {
  const headers = { authorization: 'Bearer ' + token() };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: options.method || 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw new ApiError(401, body || { title: 'Sign in with an ops token' });
  }
  if (!res.ok) throw new ApiError(res.status, body && typeof body === 'object' ? body : { title: 'HTTP ' + res.status, detail: text.slice(0, 200) });
  return body;
}

/** `?a=1&b=` of a hash route, without empty values. */
function routeQuery() {
  const i = location.hash.indexOf('?');
  return new URLSearchParams(i >= 0 ? location.hash.slice(i + 1) : '');
}
function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}
/** A filter form's values, times from datetime-local inputs turned into ISO-8601. */
function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.value === '') continue;
    out[el.name] = el.type === 'datetime-local' ? new Date(el.value).toISOString() : el.value.trim();
  }
  return out;
}
const localInput = (iso) => (iso ? new Date(Date.parse(iso) - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : '');
const options = (values, selected, anyLabel) =>
  html`${anyLabel ? html`<option value="">${anyLabel}</option>` : ''}${values.map((v) => html`<option value="${v}" ${v === selected ? raw('selected') : ''}>${words(v)}</option>`)}`;

function table(headers, rows, empty = 'Nothing to show.') {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-wrap">
    <table>
      <thead>
        <tr>
          ${headers.map((h) => html`<th scope="col" class="${h.endsWith('#') ? 'num' : ''}">${h.replace(/#$/, '')}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr>
              ${r.map((c, i) => html`<td class="${headers[i]?.endsWith('#') ? 'num' : ''}">${c}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
const num = (n) => html`<span class="num">${n}</span>`;

// ---------------------------------------------------------------------------------------------------------------
// Pages

async function overviewPage() {
  const q = routeQuery();
  const vendor = q.get('vendor') || '';
  const o = await api('/ops/overview' + queryString({ vendor }));
  const counts = (obj, id, link) =>
    html`<dl class="counts">
      ${Object.entries(obj).map(
        ([k, v]) =>
          html`<dt>${link ? html`<a href="${link(k)}">${words(k)}</a>` : words(k)}</dt>
            <dd data-metric="${id}-${k}">${v}</dd>`,
      )}
    </dl>`;
  const agencyRows = (rows) =>
    rows.map((r) => [
      html`<a href="#/submissions/${enc(r.submissionId)}">${r.submissionId}</a>`,
      r.agencyId.toUpperCase(),
      pill(r.status),
      days(r.activeDays),
      days(r.onHoldDays),
      fmt(r.deadline),
    ]);
  const dl =
    o.deadLetters.waiting !== undefined
      ? html`<p class="big" data-metric="dead-letters-waiting">${o.deadLetters.waiting}</p>
          <p><a href="#/dead-letters">Review and replay</a></p>`
      : html`<p class="alert">${o.deadLetters.unavailable}</p>`;
  return html` <h1 tabindex="-1">Overview${vendor ? ' · vendor ' + vendor : ''}</h1>
    <form class="filters" id="overview-filter">
      <label>Vendor<input name="vendor" value="${vendor}" placeholder="all vendors" /></label><button type="submit">Show</button>
    </form>
    <p class="muted">As of ${fmt(o.generatedAt)}.</p>
    <div class="grid">
      <section class="card" aria-labelledby="ov-subs">
        <h2 id="ov-subs">Submissions by status <span class="muted">(${o.submissions.total})</span></h2>
        ${counts(o.submissions.byStatus, 'submissions', (s) => '#/submissions' + queryString({ status: s, vendor }))}
      </section>
      <section class="card" aria-labelledby="ov-windows">
        <h2 id="ov-windows">
          Windows closing within 7 days <span class="muted">(<span data-metric="windows-closing">${o.windowsClosingSoon.length}</span>)</span>
        </h2>
        ${
          o.windowsClosingSoon.length === 0
            ? html`<p class="muted">None.</p>`
            : html`<ul>
                ${o.windowsClosingSoon.map((w) => html`<li><a href="#/submissions/${enc(w.submissionId)}">${w.submissionId}</a> closes ${fmt(w.closesAt)} (in ${days(w.remainingDays)})${w.openAgencies.length ? ' · still open: ' + w.openAgencies.join(', ').toUpperCase() : ''}</li>`)}
              </ul>`
        }
      </section>
      <section class="card" aria-labelledby="ov-notices">
        <h2 id="ov-notices">Notices by kind</h2>
        ${counts(o.notices.byKind, 'notices')}
        ${o.notices.capped ? html`<p class="muted">Counted over the newest ${o.notices.scanned} submissions with a notice.</p>` : ''}
      </section>
      <section class="card" aria-labelledby="ov-dl">
        <h2 id="ov-dl">Dead letters waiting</h2>
        ${dl}
      </section>
      <section class="card" aria-labelledby="ov-cases">
        <h2 id="ov-cases">Cases by state <span class="muted">(${o.cases.total})</span></h2>
        ${counts(o.cases.byState, 'cases', (s) => '#/cases' + queryString({ state: s }))}
      </section>
    </div>
    <h2 id="ov-hold">
      Agencies on hold <span class="muted">(<span data-metric="agencies-on-hold">${o.agencies.onHold.length}</span>)</span>
    </h2>
    ${table(['Submission', 'Agency', 'Status', 'Active', 'On hold', 'Deadline'], agencyRows(o.agencies.onHold), 'No agency is waiting on a vendor answer.')}
    <h2 id="ov-overdue">
      Agencies overdue <span class="muted">(<span data-metric="agencies-overdue">${o.agencies.overdue.length}</span>)</span>
    </h2>
    ${table(['Submission', 'Agency', 'Status', 'Active', 'On hold', 'Deadline'], agencyRows(o.agencies.overdue), 'No agency is past its deadline.')}
    ${o.agencies.capped || o.agencies.unreachable ? html`<p class="muted">Read ${o.agencies.scanned} open assessments${o.agencies.capped ? ' (the newest only)' : ''}${o.agencies.unreachable ? '; ' + o.agencies.unreachable + ' did not answer' : ''}.</p>` : ''}
    <h2 id="ov-endpoints">
      Endpoints failing or disabled (last 7 days) <span class="muted">(<span data-metric="endpoints-failing">${o.endpoints.length}</span>)</span>
    </h2>
    ${table(
      ['Endpoint', 'Vendor', 'Failed deliveries#', 'Endpoint disabled#', 'Last'],
      o.endpoints.map((e) => [
        html`<a href="#/deliveries${queryString({ endpoint: e.endpointId })}">${e.endpointId}</a>`,
        e.vendorId || '—',
        num(e.failed),
        num(e.disabled),
        fmt(e.lastAt),
      ]),
      'No failed deliveries in the last 7 days.',
    )}`;
}

async function submissionsPage() {
  const q = routeQuery();
  const f = { status: q.get('status') || '', vendor: q.get('vendor') || '', agency: q.get('agency') || '' };
  const data = await api('/ops/submissions' + queryString({ ...f, pageSize: 200 }));
  return html`<h1 tabindex="-1">Submissions</h1>
    <form class="filters" id="submission-filter">
      <label
        >Status<select name="status">
          ${options(SUBMISSION_STATUSES, f.status, 'any status')}
        </select></label
      >
      <label>Vendor<input name="vendor" value="${f.vendor}" size="12" /></label>
      <label>Agency<input name="agency" value="${f.agency}" size="8" /></label>
      <button type="submit">Filter</button>
    </form>
    ${table(
      ['Submission', 'Vendor', 'Status', 'Agencies', 'Planned release', 'Submitted'],
      data.items.map((s) => [
        html`<a href="#/submissions/${enc(s.submissionId)}">${s.submissionId}</a>`,
        s.vendorId,
        pill(s.status),
        s.agencies.join(', ').toUpperCase(),
        fmt(s.plannedReleaseAt),
        fmt(s.startedAt),
      ]),
      'No submissions match.',
    )}`;
}

function countdown(deadline, now) {
  if (!deadline) return html`<span class="muted">no deadline yet</span>`;
  const left = (Date.parse(deadline) - now) / DAY;
  return left >= 0
    ? html`closes in <strong>${days(left)}</strong> (${fmt(deadline)})`
    : html`<strong class="pill bad">overdue by ${days(-left)}</strong> (${fmt(deadline)})`;
}

function agencyCard(c, now) {
  const open = c.infoRequests.filter((r) => !r.respondedAt).length;
  return html`<section class="card agency-card" data-agency="${c.agencyId}" aria-labelledby="agency-${c.agencyId}">
    <h3 id="agency-${c.agencyId}">${c.agencyId.toUpperCase()} ${pill(c.status)}</h3>
    <dl class="facts">
      <dt>Review clock</dt>
      <dd class="clock">
        ${c.clock ? html`${days(c.clock.activeDays)} active · ${days(c.clock.onHoldDays)} on hold${c.clock.onHold ? html` · <span class="pill warn">on hold now</span>` : ''}` : html`<span class="muted">not started</span>`}
      </dd>
      <dt>Deadline</dt>
      <dd class="deadline">
        ${c.running || !c.clock ? countdown(c.deadline, now) : html`<span class="muted">assessment ended</span> (window ${fmt(c.deadline)})`}${c.deadlineMissed ? html` <span class="pill bad">deadline missed</span>` : ''}
      </dd>
      <dt>Findings</dt>
      <dd>${c.findings.length}</dd>
      <dt>Information requests</dt>
      <dd class="info-requests">
        ${
          c.infoRequests.length === 0
            ? 'none'
            : html`${c.infoRequests.length}${open ? html` (<strong>${open} waiting on the vendor</strong>)` : ''}
                <ul>
                  ${c.infoRequests.map((r) => html`<li>${r.requestId}: asked ${fmt(r.requestedAt)}, ${r.respondedAt ? 'answered ' + fmt(r.respondedAt) : html`<strong>waiting</strong>`}</li>`)}
                </ul>`
        }
      </dd>
    </dl>
  </section>`;
}

async function submissionPage(id) {
  const base = '/ops/submissions/' + enc(id);
  const [overview, timeline, cards] = await Promise.all([api(base), api(base + '/timeline'), api(base + '/agencies')]);
  const st = overview.state;
  const now = Date.parse(overview.clocks.now) || Date.now();
  const showDeliveries = routeQuery().get('deliveries') === 'shown';
  const deliveries = timeline.entries.filter((e) => e.kind === 'delivery');
  const entries = timeline.entries.filter((e) => showDeliveries || e.kind !== 'delivery');
  const findings = overview.findings.findings || [];
  const grantEntries = timeline.entries.filter((e) => e.kind === 'grant' || e.kind === 'revoke');
  const w = st.window;
  return html`<p><a href="#/submissions">← Submissions</a></p>
    <h1 tabindex="-1">
      ${st.model.name} ${st.model.version} ${pill(st.status)} ${st.notice ? html`<span class="muted">notice</span> ${pill(st.notice)}` : ''}
    </h1>
    <dl class="facts" id="submission-facts">
      <dt>Submission</dt>
      <dd>${st.submissionId} · vendor ${st.vendorId}</dd>
      <dt>Access window</dt>
      <dd>
        ${w ? html`${fmt(w.opensAt)} → ${fmt(w.closesAt)} (${overview.clocks.window ? overview.clocks.window.totalDays.toFixed(1) + ' days' : ''})` : 'not open yet'}
      </dd>
      <dt>Planned release</dt>
      <dd>${fmt(st.plannedReleaseAt)}</dd>
      <dt>Declared release</dt>
      <dd>${st.releasedAt ? fmt(st.releasedAt) : 'not yet'}</dd>
      <dt>Findings</dt>
      <dd>
        ${overview.findings.total}${overview.findings.unresolvedCriticalOrHigh ? html` · <strong>${overview.findings.unresolvedCriticalOrHigh} unresolved critical/high</strong>` : ''}${st.mitigationsAwaitingConfirmation.length ? html` · ${st.mitigationsAwaitingConfirmation.length} mitigation(s) awaiting confirmation` : ''}
      </dd>
    </dl>
    <h2 id="agencies-h">Agencies</h2>
    <div class="grid" id="agency-cards">${cards.items.map((c) => agencyCard(c, now))}</div>
    <h2 id="findings-h">Findings</h2>
    <div id="findings">
      ${table(
        ['Finding', 'Agency', 'Severity', 'Domain', 'Submitted', 'Vendor response', 'Mitigation confirmation'],
        findings.map((f) => [
          f.findingId,
          f.agencyId.toUpperCase(),
          pill(f.severity),
          f.domain,
          fmt(f.submittedAt),
          f.response ? html`${pill(f.response)} <span class="muted">${fmt(f.respondedAt)}</span>` : html`<span class="muted">no response yet</span>`,
          f.mitigation
            ? html`${pill(f.mitigation)}${f.mitigationReviewedAt ? html` <span class="muted">${fmt(f.mitigationReviewedAt)}</span>` : ''}`
            : html`<span class="muted">—</span>`,
        ]),
        'No findings.',
      )}
    </div>
    <h2 id="grants-h">Access grants</h2>
    <div id="grants">
      ${table(['Grant', 'Agency', 'State', 'Expires'], st.activeGrants.map((g) => [g.grantId, g.agencyId.toUpperCase(), pill('OPEN', 'live'), fmt(g.expiresAt)]).concat(st.revokedGrantIds.map((g) => [g, ((grantEntries.find((e) => e.refs && e.refs.grantId === g) || {}).agencyId || '—').toUpperCase(), pill('CLOSED', 'revoked'), '—'])), 'No access grants.')}
    </div>
    <h2 id="timeline-h">Timeline</h2>
    <div class="picture" id="picture">${raw(picture(timeline, overview, now))}</div>
    <div class="legend" aria-hidden="true">
      <span><i class="sw-window"></i>access window</span><span><i class="sw-invited"></i>invited</span><span><i class="sw-clock"></i>review clock running</span
      ><span><i class="sw-hold"></i>on hold</span><span>◆ finding</span><span>▲ status change</span><span>★ notice</span><span>┆ planned release</span
      ><span>┃ declared release</span>
    </div>
    <div class="toolbar">
      <button
        type="button"
        class="secondary"
        id="toggle-deliveries"
        aria-controls="entries"
        aria-expanded="${showDeliveries}"
        data-href="#/submissions/${enc(id)}${showDeliveries ? '' : '?deliveries=shown'}"
      >
        ${showDeliveries ? 'Hide' : 'Show'} webhook delivery attempts (${deliveries.length})
      </button>
      <a href="${base}/history" id="history-link">Raw history (JSON)</a>
    </div>
    <div id="entries">
      ${table(
        ['When', 'Who', 'What', 'Led to'],
        entries.map((e) => [fmt(e.at), e.actor, e.summary, e.status ? words(e.status) : '']),
        'No events.',
      )}
    </div>`;
}

/** Places labels on the first of `rows` lines where they do not overlap the previous one; -1 when none is free. */
function placer(rows) {
  const ends = new Array(rows).fill(-Infinity);
  return (x, width) => {
    for (let r = 0; r < rows; r++)
      if (x >= ends[r] + 6) {
        ends[r] = x + width;
        return r;
      }
    return -1;
  };
}
const textWidth = (s, size) => s.length * size * 0.6;

/**
 * The timeline picture over the access window (opens → closes, extended to the planned or declared release when
 * later): status changes, each agency's clock with holds and findings, grants and revocations, notices. Events before
 * the window opens sit at its left edge, counted in one label. Without a window yet: submission → planned release.
 */
function picture(tl, overview, now) {
  const st = overview.state;
  const win = tl.lanes.window || st.window;
  const times = tl.entries.map((e) => Date.parse(e.at));
  const planned = Date.parse(st.plannedReleaseAt);
  const released = Date.parse(st.releasedAt || '');
  let t0 = win ? Date.parse(win.opensAt) : Math.min(...times, now);
  let t1 = win ? Date.parse(win.closesAt) : planned;
  for (const t of [planned, released]) if (Number.isFinite(t) && t > t1) t1 = t;
  if (!(t1 > t0)) t1 = t0 + DAY;
  const W = 1100,
    left = 130,
    right = 30,
    lane = 36,
    top = 40;
  const x = (t) => left + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * (W - left - right);
  const agencies = tl.lanes.agencies;
  const rows = ['Status', 'Access window'].concat(agencies.map((a) => a.agencyId.toUpperCase())).concat(['Notices']);
  const statusRows = 3;
  const rowY = (i) => top + (i === 0 ? 0 : lane * (statusRows / 2) + (i - 1) * lane);
  const H = rowY(rows.length) + 34;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="pic-title" font-family="system-ui, sans-serif" font-size="12">`,
  ];
  out.push(`<title id="pic-title">Timeline of ${esc(st.submissionId)} over the access window</title>`);
  out.push(
    '<defs><pattern id="hold" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f0a040"/><rect width="3" height="6" fill="#ffd699"/></pattern></defs>',
  );
  rows.forEach((r, i) => {
    const y = rowY(i),
      h = i === 0 ? (lane * statusRows) / 2 : lane;
    out.push(`<rect x="0" y="${y}" width="${W}" height="${h}" fill="${i % 2 ? '#f7f8fb' : '#fff'}"/>`);
    out.push(`<text class="lane-label" x="8" y="${y + 22}" font-weight="600" fill="#1d2433">${esc(r)}</text>`);
  });
  // Axis: six ticks spanning exactly [t0, t1].
  const axis = ['<g class="axis">'];
  for (let k = 0; k <= 6; k++) {
    const t = t0 + ((t1 - t0) * k) / 6,
      X = x(t);
    out.push(`<line x1="${X}" y1="${top - 6}" x2="${X}" y2="${H - 28}" stroke="#e3e7ee"/>`);
    const span = t1 - t0;
    const label =
      span > 3 * DAY ? new Date(t).toISOString().slice(5, 10) + ' ' + new Date(t).toISOString().slice(11, 16) : new Date(t).toISOString().slice(11, 19);
    axis.push(
      `<text class="tick" data-t="${new Date(t).toISOString()}" x="${X}" y="${top - 12}" text-anchor="${k === 0 ? 'start' : k === 6 ? 'end' : 'middle'}" fill="#4a5264">${esc(label)}</text>`,
    );
  }
  axis.push('</g>');
  out.push(axis.join(''));
  out.push(
    `<text x="${left}" y="${H - 10}" fill="#4a5264">${esc(fmt(new Date(t0).toISOString()))} → ${esc(fmt(new Date(t1).toISOString()))}${win ? ' (access window' + (t1 > Date.parse(win.closesAt) ? ' and release' : '') + ')' : ' (submission to planned release)'}</text>`,
  );

  // Status changes: a triangle each, labels on free lines; those that do not fit are counted.
  const place = placer(statusRows);
  let hidden = 0,
    before = 0;
  for (const e of tl.entries) {
    if (e.kind !== 'status' && e.kind !== 'submitted') continue;
    const t = Date.parse(e.at),
      X = x(t);
    if (t < t0) before += 1;
    out.push(`<path d="M${X} ${top + 2} l5 8 h-10 z" fill="#1a4fb8"><title>${esc(fmt(e.at) + ' ' + e.summary)}</title></path>`);
    const label = words(e.status || e.kind);
    const r = place(X, textWidth(label, 10));
    if (r >= 0) out.push(`<text class="status-label" x="${X}" y="${top + 22 + r * 14}" fill="#173a80" font-size="10">${esc(label)}</text>`);
    else hidden += 1;
  }
  if (hidden || before)
    out.push(
      `<text x="${W - right}" y="${top + 10}" text-anchor="end" fill="#4a5264" font-size="10">${before ? before + ' before the window opened' : ''}${before && hidden ? ' · ' : ''}${hidden ? hidden + ' more (see the list)' : ''}</text>`,
    );

  if (win) {
    const a = Date.parse(win.opensAt),
      b = Date.parse(win.closesAt),
      y = rowY(1);
    out.push(
      `<rect class="window" x="${x(a)}" y="${y + 9}" width="${Math.max(2, x(b) - x(a))}" height="18" rx="3" fill="#cfe0c3"><title>access window ${esc(fmt(win.opensAt) + ' → ' + fmt(win.closesAt))}</title></rect>`,
    );
    if (now > a && now < b)
      out.push(`<line x1="${x(now)}" y1="${y + 4}" x2="${x(now)}" y2="${y + 32}" stroke="#1d2433" stroke-width="2"><title>now</title></line>`);
  }
  agencies.forEach((ag, i) => {
    const y = rowY(2 + i);
    const start = Date.parse(ag.invitedAt || ag.startedAt || '') || t0;
    const end = Date.parse(ag.endedAt || '') || Math.min(now, t1);
    out.push(
      `<rect x="${x(start)}" y="${y + 12}" width="${Math.max(2, x(end) - x(start))}" height="12" rx="2" fill="#c9d1df"><title>${esc(ag.agencyId + ' invited ' + fmt(ag.invitedAt))}</title></rect>`,
    );
    if (ag.startedAt) {
      const s = Date.parse(ag.startedAt);
      out.push(
        `<rect x="${x(s)}" y="${y + 12}" width="${Math.max(2, x(end) - x(s))}" height="12" rx="2" fill="#1a4fb8"><title>${esc(ag.agencyId + ' review clock from ' + fmt(ag.startedAt))}</title></rect>`,
      );
    }
    for (const h of ag.holds) {
      const a = Date.parse(h.from),
        b = Date.parse(h.to || '') || Math.min(now, t1);
      out.push(
        `<rect class="hold" x="${x(a)}" y="${y + 9}" width="${Math.max(3, x(b) - x(a))}" height="18" fill="url(#hold)" stroke="#b35c00"><title>${esc('on hold ' + fmt(h.from) + ' → ' + (h.to ? fmt(h.to) : 'now'))}</title></rect>`,
      );
    }
    const clock = (overview.clocks.agencies || []).find((c) => c.agencyId === ag.agencyId);
    const label = words(ag.status) + (clock ? ' · ' + days(clock.activeDays) + ' active, ' + days(clock.onHoldDays) + ' on hold' : '');
    const lx = Math.min(x(end) + 8, W - right - textWidth(label, 12));
    out.push(`<text class="agency-label" x="${lx}" y="${y + 22}" fill="#1d2433" font-weight="600">${esc(label)}</text>`);
    for (const e of tl.entries.filter((e) => e.agencyId === ag.agencyId)) {
      const X = x(Date.parse(e.at));
      if (e.kind === 'finding')
        out.push(
          `<path class="finding" d="M${X} ${y + 7} l7 8 l-7 8 l-7 -8 z" fill="${SEVERITY_COLORS[e.status] || '#333'}" stroke="#fff"><title>${esc(fmt(e.at) + ' ' + e.summary)}</title></path>`,
        );
      else if (e.kind === 'grant' || e.kind === 'revoke')
        out.push(
          `<line x1="${X}" y1="${y + 4}" x2="${X}" y2="${y + 32}" stroke="${e.kind === 'grant' ? '#1e7a45' : '#a11'}" stroke-width="2"><title>${esc(fmt(e.at) + ' ' + e.summary)}</title></line>`,
        );
    }
  });
  const ny = rowY(2 + agencies.length);
  for (const e of tl.entries) {
    if (e.kind !== 'notice') continue;
    const X = x(Date.parse(e.at));
    out.push(
      `<text class="notice" x="${X}" y="${ny + 24}" text-anchor="middle" font-size="16" fill="#5b2a9e">★<title>${esc(fmt(e.at) + ' ' + e.summary)}</title></text>`,
    );
    out.push(`<text x="${X + 10}" y="${ny + 22}" fill="#5b2a9e" font-size="11">${esc(words(e.status || ''))}</text>`);
  }
  // Release markers over every lane.
  const marker = (t, cls, label, dash, anchorRight) => {
    const X = x(t);
    out.push(
      `<g class="${cls}"><line x1="${X}" y1="${top - 4}" x2="${X}" y2="${H - 28}" stroke="#7a0019" stroke-width="2" ${dash ? 'stroke-dasharray="6 4"' : ''}/>` +
        `<text x="${anchorRight ? X - 4 : X + 4}" y="${H - 30}" text-anchor="${anchorRight ? 'end' : 'start'}" fill="#7a0019" font-size="11" font-weight="600">${esc(label)}</text></g>`,
    );
  };
  if (Number.isFinite(planned)) marker(planned, 'planned-release', 'planned release ' + day(st.plannedReleaseAt), true, x(planned) > W / 2);
  if (Number.isFinite(released))
    marker(released, 'declared-release', 'released ' + day(st.releasedAt), false, x(released) > W / 2 || Math.abs(x(released) - x(planned)) < 150);
  out.push('</svg>');
  return out.join('');
}

async function casesPage() {
  const q = routeQuery();
  const state = q.get('state') || '';
  const data = await api('/ops/cases' + queryString({ state, limit: 500 }));
  return html`<h1 tabindex="-1">Clearinghouse cases</h1>
    <form class="filters" id="case-filter">
      <label
        >State<select name="state">
          ${options(CASE_STATES, state, 'any state')}
        </select></label
      ><button type="submit">Filter</button>
    </form>
    ${table(
      ['Case', 'State', 'Severity', 'Reporters', 'Parties', 'Opened'],
      data.items.map((c) => [
        html`<a href="#/cases/${enc(c.caseId.replace(/^case\//, ''))}">${c.caseId}</a>`,
        pill(c.state),
        c.severity ? pill(c.severity) : '—',
        c.reporters.join(', ').toUpperCase(),
        c.parties.join(', ') || '—',
        fmt(c.openedAt),
      ]),
      'No cases match.',
    )}`;
}

/** The operator actions on a case: one form each, posting JSON to `/ops/cases/<fingerprint>/<action>`. */
const CASE_ACTIONS = [
  {
    action: 'triage',
    title: 'Triage',
    fields: [
      ['severity', 'Severity', 'select', SEVERITIES, true],
      ['cweId', 'CWE id (e.g. CWE-1427)'],
      ['affectedProduct', 'Affected product'],
    ],
  },
  {
    action: 'parties',
    title: 'Add a party to notify',
    fields: [
      ['partyId', 'Party id', 'text', null, true],
      ['kind', 'Kind (e.g. vendor, agency)', 'text', null, true],
      ['name', 'Name'],
      ['contactName', 'Contact name'],
      ['contactEmail', 'Contact email', 'email'],
      ['contactRole', 'Contact role'],
    ],
  },
  { action: 'status', title: 'Mark remediating', fields: [], fixed: { state: 'REMEDIATING' } },
  { action: 'exploitation', title: 'Record exploitation seen', fields: [['observedAt', 'Observed at', 'datetime-local']] },
  { action: 'duplicate', title: 'Mark as duplicate', fields: [['primaryCaseId', 'Primary case id', 'text', null, true]] },
  {
    action: 'publish',
    title: 'Publish the advisory',
    fields: [
      ['advisoryRef', 'Advisory reference'],
      ['overrideReason', 'Override reason (publishing before the embargo ends)'],
    ],
  },
  { action: 'close', title: 'Close the case', fields: [['reason', 'Reason', 'select', ['RESOLVED', 'REJECTED'], true]] },
];

/** The JSON body of an action form (contacts and override are nested as the ops API takes them). */
function actionBody(spec, values) {
  const body = { ...(spec.fixed || {}) };
  for (const [k, v] of Object.entries(values)) if (!k.startsWith('contact') && k !== 'overrideReason') body[k] = v;
  if (spec.action === 'parties') {
    const contact = {};
    if (values.contactName) contact.name = values.contactName;
    if (values.contactEmail) contact.email = values.contactEmail;
    if (values.contactRole) contact.role = values.contactRole;
    body.contacts = Object.keys(contact).length ? [contact] : [];
  }
  if (values.overrideReason) body.override = { reason: values.overrideReason };
  return body;
}

function actionForm(spec) {
  const field = ([name, label, type = 'text', choices, required]) =>
    type === 'select'
      ? html`<label
          >${label}<select name="${name}" ${required ? raw('required') : ''}>
            ${options(choices, '', required ? null : '—')}
          </select></label
        >`
      : html`<label>${label}<input name="${name}" type="${type}" ${required ? raw('required') : ''} /></label>`;
  return html`<form class="case-action" data-action="${spec.action}" aria-labelledby="act-${spec.action}">
    <h3 id="act-${spec.action}">${spec.title}</h3>
    ${spec.fields.map(field)}<button type="submit">${spec.title}</button>
    <div class="result" role="status" aria-live="polite"></div>
  </form>`;
}

async function casePage(fingerprint) {
  const c = await api('/ops/cases/' + enc(fingerprint));
  return html`<p><a href="#/cases">← Cases</a></p>
    <h1 tabindex="-1">Case ${c.caseId} ${pill(c.state)} ${c.severity ? pill(c.severity) : ''}</h1>
    <dl class="facts" id="case-facts">
      <dt>Opened</dt>
      <dd>${fmt(c.openedAt)}</dd>
      <dt>Updated</dt>
      <dd>${fmt(c.updatedAt)}</dd>
      <dt>Affected product</dt>
      <dd>${c.affectedProduct || '—'}</dd>
      <dt>Weakness</dt>
      <dd>${c.weakness || '—'}${c.cweId ? ' (' + c.cweId + ')' : ''}</dd>
      <dt>Reporters</dt>
      <dd>${c.reporters.join(', ').toUpperCase()}</dd>
      <dt>Embargo</dt>
      <dd>${c.embargoUntil ? fmt(c.embargoUntil) + (c.embargoActive ? ' (active)' : ' (over)') : 'none'}</dd>
      <dt>Disclosure deadline</dt>
      <dd>${fmt(c.disclosureDeadline)}</dd>
      ${
        c.advisoryRef
          ? html`<dt>Advisory</dt>
              <dd>${c.advisoryRef}</dd>`
          : ''
      }
      ${
        c.exploitation
          ? html`<dt>Exploitation</dt>
              <dd>reported ${fmt(c.exploitation.reportedAt)} by ${c.exploitation.reportedBy}</dd>`
          : ''
      }
      ${
        c.duplicateOf
          ? html`<dt>Duplicate of</dt>
              <dd>${c.duplicateOf}</dd>`
          : ''
      }
      ${
        c.closedAt
          ? html`<dt>Closed</dt>
              <dd>${fmt(c.closedAt)} ${c.closeReason || ''}</dd>`
          : ''
      }
    </dl>
    <h2>Reports</h2>
    ${table(
      ['Agency', 'Source', 'Reported', 'Report'],
      (c.reports || []).map((r) => [String(r.agencyId).toUpperCase(), words(r.source), fmt(r.reportedAt), r.reportId || '—']),
      'No reports.',
    )}
    <h2>Parties</h2>
    ${table(
      ['Party', 'Status', 'Notified', 'Remediation due'],
      (c.parties || []).map((p) => [p.partyId, pill(p.status), fmt(p.notifiedAt), fmt(p.remediationDueAt)]),
      'No parties yet.',
    )}
    <h2>Actions</h2>
    <p class="muted">Each action is sent to the ops API as you; a refusal shows its reason here.</p>
    <div class="actions" id="case-actions" data-fingerprint="${fingerprint}">
      ${CASE_ACTIONS.map(actionForm)}
      <form class="case-action" data-action="csaf" aria-labelledby="act-csaf">
        <h3 id="act-csaf">CSAF advisory</h3>
        <button type="submit">Fetch the CSAF document</button>
        <div class="result" role="status" aria-live="polite"></div>
      </form>
    </div>`;
}

async function runCaseAction(form) {
  const fingerprint = form.closest('#case-actions').dataset.fingerprint;
  const action = form.dataset.action;
  const out = $('.result', form);
  out.className = 'result';
  out.textContent = 'Sending…';
  form.dataset.state = 'sending';
  try {
    if (action === 'csaf') {
      const doc = await api('/ops/cases/' + enc(fingerprint) + '/csaf');
      out.textContent = 'CSAF document ' + ((doc.document && doc.document.tracking && doc.document.tracking.id) || 'received') + '.';
    } else {
      const spec = CASE_ACTIONS.find((a) => a.action === action);
      await api('/ops/cases/' + enc(fingerprint) + '/' + action, { method: 'POST', body: actionBody(spec, formValues(form)) });
      out.textContent = 'Done.';
      form.dataset.state = 'done';
      await render();
      return;
    }
    form.dataset.state = 'done';
  } catch (e) {
    const p = e.problem || {};
    out.className = 'result alert';
    out.setAttribute('role', 'alert');
    out.textContent = (p.detail || p.title || e.message) + (p.status ? ' (' + p.status + ')' : '');
    form.dataset.state = 'refused';
  }
}

/** A bulk replay's progress; polls until the job is done. */
function progressPanel(job) {
  const total = job.total ?? 0,
    handled = job.replayed + job.skipped + job.failed;
  return html`<section class="progress" id="replay-progress" data-job="${job.id}" data-state="${job.state}" aria-live="polite">
    <h2>${job.name} ${pill(job.state)}</h2>
    <p class="muted">Job ${job.id} · started by ${job.operator} at ${fmt(job.startedAt)}${job.endedAt ? ' · ended ' + fmt(job.endedAt) : ''}</p>
    <progress max="${Math.max(total, 1)}" value="${job.state === 'done' ? Math.max(total, 1) : handled}" aria-label="Replay progress"></progress>
    <p class="counts">
      <strong data-count="handled">${handled}</strong> of <strong data-count="total">${job.total ?? '…'}</strong> handled:
      <span data-count="replayed">${job.replayed}</span> replayed, <span data-count="skipped">${job.skipped}</span> skipped,
      <span data-count="failed">${job.failed}</span> failed.${job.error ? ' ' + job.error : ''}
    </p>
    ${
      job.items.some((i) => i.result !== 'replayed')
        ? html`<details>
            <summary>Not replayed</summary>
            <ul>
              ${job.items.filter((i) => i.result !== 'replayed').map((i) => html`<li>${i.ref}: ${i.result}${i.detail ? ' — ' + i.detail : ''}</li>`)}
            </ul>
          </details>`
        : ''
    }
  </section>`;
}

async function followJob(id) {
  for (;;) {
    const holder = $('#replay-slot');
    if (!holder) return;
    let job;
    try {
      job = await api('/ops/bulk-replays/' + enc(id));
    } catch (e) {
      holder.innerHTML = html`<p class="alert">${e.message}</p>`.s;
      return;
    }
    holder.innerHTML = progressPanel(job).s;
    if (job.state === 'done' || job.state === 'failed') return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function startReplay(target, filter) {
  const slot = $('#replay-slot');
  try {
    const job = await api('/ops/bulk-replays', { method: 'POST', body: { target, filter } });
    slot.innerHTML = progressPanel(job).s;
    history.replaceState(
      null,
      '',
      location.pathname + location.hash.replace(/([?&])job=[^&]*&?/, '$1').replace(/[?&]$/, '') + (location.hash.includes('?') ? '&' : '?') + 'job=' + job.id,
    );
    await followJob(job.id);
  } catch (e) {
    slot.innerHTML = html`<p class="alert" role="alert">${e.message}</p>`.s;
  }
}

async function jobsList(target) {
  const jobs = (await api('/ops/bulk-replays')).items.filter((j) => j.target === target);
  return html`<h2>Earlier bulk replays</h2>
    ${table(
      ['Job', 'Filter', 'By', 'Started', 'State', 'Replayed#', 'Skipped#', 'Failed#'],
      jobs.map((j) => [
        j.id,
        Object.entries(j.filter)
          .map(([k, v]) => k + '=' + v)
          .join(', ') || 'all',
        j.operator,
        fmt(j.startedAt),
        pill(j.state),
        num(j.replayed),
        num(j.skipped),
        num(j.failed),
      ]),
      'None yet (this api process).',
    )}`;
}

async function deliveriesPage() {
  const q = routeQuery();
  const f = {
    status: q.get('status') || '',
    endpoint: q.get('endpoint') || '',
    vendor: q.get('vendor') || '',
    since: q.get('since') || '',
    until: q.get('until') || '',
  };
  const [data, jobs] = await Promise.all([api('/ops/deliveries' + queryString({ ...f, limit: 500 })), jobsList('deliveries')]);
  return html`<h1 tabindex="-1">Webhook deliveries</h1>
    <form class="filters" id="delivery-filter">
      <label
        >Status<select name="status">
          ${options(DELIVERY_STATUSES, f.status, 'any status')}
        </select></label
      >
      <label>Endpoint<input name="endpoint" value="${f.endpoint}" size="18" /></label>
      <label>Vendor<input name="vendor" value="${f.vendor}" size="12" /></label>
      <label>Started from<input name="since" type="datetime-local" value="${localInput(f.since)}" /></label>
      <label>Started before<input name="until" type="datetime-local" value="${localInput(f.until)}" /></label>
      <button type="submit">Filter</button>
    </form>
    <div class="toolbar">
      <span id="match-count"><strong>${data.items.length}</strong> deliveries match${data.items.length >= 500 ? ' (first 500 shown)' : ''}.</span>
      <button type="button" id="bulk-replay" data-target="deliveries" ${data.items.length ? '' : raw('disabled')}>Replay all matching</button>
    </div>
    <div id="replay-slot"></div>
    ${table(
      ['Event', 'Endpoint', 'Vendor', 'Status', 'Started', 'Ended'],
      data.items.map((d) => [d.eventId, d.endpointId, d.vendorId || '—', pill(d.status || d.execution), fmt(d.startedAt), fmt(d.closedAt)]),
      'No deliveries match.',
    )}
    ${jobs}`;
}

function matchesDeadLetter(d, f) {
  if (f.reason && d.reason !== f.reason) return false;
  if (f.agencyId && d.agencyId !== f.agencyId) return false;
  const at = Date.parse(d.time);
  if (f.since && !(at >= Date.parse(f.since))) return false;
  if (f.until && !(at < Date.parse(f.until))) return false;
  return true;
}

async function deadLettersPage() {
  const q = routeQuery();
  const f = { reason: q.get('reason') || '', agencyId: q.get('agencyId') || '', since: q.get('since') || '', until: q.get('until') || '' };
  const [data, jobs] = await Promise.all([api('/ops/dead-letters?limit=1000'), jobsList('dead-letters')]);
  const reasons = [...new Set(data.items.map((d) => d.reason))].sort();
  const items = data.items.filter((d) => matchesDeadLetter(d, f));
  return html`<h1 tabindex="-1">Dead letters</h1>
    <p class="muted">Commands the ingress refused. A replay re-produces a command onto its topic, where it is checked again from scratch.</p>
    <form class="filters" id="dead-letter-filter">
      <label
        >Reason<select name="reason">
          ${options(reasons.includes(f.reason) || !f.reason ? reasons : reasons.concat([f.reason]), f.reason, 'any reason')}
        </select></label
      >
      <label>Agency<input name="agencyId" value="${f.agencyId}" size="8" /></label>
      <label>From<input name="since" type="datetime-local" value="${localInput(f.since)}" /></label>
      <label>Before<input name="until" type="datetime-local" value="${localInput(f.until)}" /></label>
      <button type="submit">Filter</button>
    </form>
    <div class="toolbar">
      <span id="match-count"><strong>${items.length}</strong> of ${data.items.length} dead letters match.</span>
      <button type="button" id="bulk-replay" data-target="dead-letters" ${items.length ? '' : raw('disabled')}>Replay all matching</button>
    </div>
    <div id="replay-slot"></div>
    ${table(
      ['When', 'Reason', 'Agency', 'Type', 'Command', 'Message', 'Where'],
      items.map((d) => [
        fmt(d.time),
        pill('FAILED', d.reason),
        (d.agencyId || '—').toUpperCase(),
        d.type || '—',
        d.commandId || '—',
        d.message,
        d.partition + ':' + d.offset,
      ]),
      'No dead letters match.',
    )}
    ${jobs}`;
}

async function auditPage() {
  const q = routeQuery();
  const f = {};
  for (const k of ['from', 'to', 'actor', 'action', 'outcome', 'cursor']) if (q.get(k)) f[k] = q.get(k);
  const data = await api('/ops/audit' + queryString(f));
  const actor = (r) => r.actor.kind + ':' + r.actor.id;
  const outcome = (r) => r.outcome + (r.status ? ' (' + r.status + ')' : '');
  const detail = (r) =>
    [r.reason, ...Object.entries(r.details || {}).map(([k, v]) => k + '=' + (Array.isArray(v) ? v.join(',') : v))].filter(Boolean).join(' · ');
  return html`<h1 tabindex="-1">Audit trail</h1>
    <form class="filters" id="audit-filter">
      <label>From<input name="from" type="datetime-local" value="${localInput(f.from)}" /></label>
      <label>To<input name="to" type="datetime-local" value="${localInput(f.to)}" /></label>
      <label>Actor<input name="actor" value="${f.actor || ''}" size="14" /></label>
      <label>Action<input name="action" value="${f.action || ''}" size="14" /></label>
      <label>Outcome<input name="outcome" value="${f.outcome || ''}" size="10" /></label>
      <button type="submit">Filter</button>
    </form>
    ${table(
      ['When', 'Actor', 'Action', 'Target', 'Outcome', 'Detail'],
      data.items.map((r) => [fmt(r.at), actor(r), r.action, r.target || '—', outcome(r), detail(r)]),
      'No audit records match.',
    )}
    ${data.nextCursor ? html`<p><a href="#/audit${queryString({ ...f, cursor: data.nextCursor })}">Older records</a></p>` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Router and events

function loginPage(message) {
  return html`<h1 tabindex="-1">Sign in</h1>
    ${message ? html`<p class="alert" role="alert">${message}</p>` : ''}
    <form id="login" class="filters">
      <label>Ops token<input name="token" type="password" autocomplete="off" size="44" required /></label><button type="submit">Sign in</button>
    </form>`;
}

const ROUTES = [
  [/^\/?$/, 'overview', overviewPage],
  [/^\/submissions$/, 'submissions', submissionsPage],
  [/^\/submissions\/([^/]+)$/, 'submissions', submissionPage],
  [/^\/cases$/, 'cases', casesPage],
  [/^\/cases\/([^/]+)$/, 'cases', casePage],
  [/^\/deliveries$/, 'deliveries', deliveriesPage],
  [/^\/dead-letters$/, 'dead-letters', deadLettersPage],
  [/^\/audit$/, 'audit', auditPage],
];

let renderSeq = 0;
async function render() {
  const seq = ++renderSeq;
  document.body.dataset.ready = 'loading';
  const view = $('#view');
  const path = location.hash.replace(/^#/, '').split('?')[0];
  const match = ROUTES.map(([re, nav, page]) => [re.exec(path), nav, page]).find(([m]) => m);
  for (const a of document.querySelectorAll('nav a')) {
    if (match && a.dataset.nav === match[1]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!token()) {
    view.innerHTML = loginPage().s;
    document.body.dataset.ready = 'login';
    return;
  }
  try {
    if (!match) throw new ApiError(404, { title: 'No such page', detail: path });
    const [m, , page] = match;
    const content = await page(...m.slice(1).map(decodeURIComponent));
    if (seq !== renderSeq) return;
    view.innerHTML = content.s;
    document.title = ($('h1', view)?.textContent.trim() || 'Preflight') + ' · Preflight console';
    document.body.dataset.view = match[1];
    document.body.dataset.ready = 'true';
    const job = routeQuery().get('job');
    if (job && $('#replay-slot')) void followJob(job);
  } catch (e) {
    if (seq !== renderSeq) return;
    view.innerHTML = (
      e.status === 401
        ? loginPage(e.message)
        : html`<h1 tabindex="-1">Could not load this page</h1>
            <p class="alert" role="alert">${e.message}</p>`
    ).s;
    document.body.dataset.ready = 'error';
  }
}

/** Filter forms change the address (so a filtered page is a link) and the router renders it. */
function submitFilter(form) {
  const base = location.hash.split('?')[0] || '#/';
  location.hash = base + queryString(formValues(form));
}

document.addEventListener('submit', (ev) => {
  const form = ev.target;
  ev.preventDefault();
  if (form.id === 'login') {
    sessionStorage.setItem(TOKEN_KEY, form.token.value);
    void render();
  } else if (form.classList.contains('case-action')) {
    void runCaseAction(form);
  } else if (form.classList.contains('filters')) {
    submitFilter(form);
  }
});

document.addEventListener('click', (ev) => {
  // The skip link moves the focus without touching the address (the hash is the page's route).
  if (ev.target.closest('a.skip')) {
    ev.preventDefault();
    $('#main').focus();
    return;
  }
  const toggle = ev.target.closest('#toggle-deliveries');
  if (toggle) {
    location.hash = toggle.dataset.href;
    return;
  }
  const button = ev.target.closest('#bulk-replay');
  if (!button) return;
  const form = $('form.filters', $('#view'));
  button.disabled = true;
  void startReplay(button.dataset.target, formValues(form)).finally(() => {
    button.disabled = false;
  });
});

// Focus moves to the new page's heading when the page changes (not when only its filters or job change).
let lastPath = '';
window.addEventListener('hashchange', async () => {
  const path = location.hash.split('?')[0];
  await render();
  if (path !== lastPath) $('#view h1')?.focus();
  lastPath = path;
});

$('#sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  void render();
});
// The api answers with an HttpOnly cookie scoped to /codec: the Temporal UI's codec requests carry it, this page cannot read it.
$('#ui-session').addEventListener('click', async () => {
  const status = $('#ui-session-status');
  try {
    const s = await api('/ops/session', { method: 'POST' });
    status.textContent = 'Temporal UI: decrypting until ' + fmt(s.expiresAt);
  } catch (e) {
    status.textContent = e.message;
  }
});

takeTokenFromAddress();
lastPath = location.hash.split('?')[0];
void render();
