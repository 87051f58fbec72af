// custos dashboard - plain ES module, no build step, no third-party code.
//
// One page for every route (/, /checks/{id}, /agents/{id}, /?view=events,
// /?view=notifications). It asks /api/v1/session who it is and shows the
// login form first when there is no session; the cookie then stands for the
// token's role on every API call. The overview renders /api/v1/status (the
// server aggregates: counts, problems) and follows /api/v1/stream: a check
// frame updates or moves its row in place, and a debounced re-read of
// /status (only after a change arrives, never on a timer) keeps the counts
// exact. OK checks are never rendered one row each: they collapse into one
// line that expands into pages of 100.
//
// All text from the API goes into the DOM as text nodes (h() below), never
// as HTML.

const $ = (sel, el = document) => el.querySelector(sel);
const main = () => $("#main");
const SEV = { CRITICAL: 0, UNKNOWN: 1, WARNING: 2 };

const S = {
  me: null,              // {name, role}
  status: null,          // last /api/v1/status
  problems: new Map(),   // check id -> check (with state, agent_name)
  downtimes: new Map(),  // "c<id>" / "a<id>" -> end (RFC 3339), active ones
  agents: [],            // every agent (for DOWN/NEW)
  events: [],            // newest first
  clockOffset: 0,        // server time - local time, ms
  filter: "",
  countFilter: null,     // "CRITICAL" | "WARNING" | "UNKNOWN" | "down" | "unacked" | null
  sel: -1,
  es: null,
  lastDown: null,
  view: null,
  refreshTimer: null,
};

// ---- small helpers -----------------------------------------------------------

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  return el;
}

class ApiError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

async function api(method, path, body) {
  const opt = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") opt.headers["Content-Type"] = "application/json";
  if (body !== undefined) opt.body = JSON.stringify(body);
  const r = await fetch(path, opt);
  let j = null;
  const text = await r.text();
  if (text) { try { j = JSON.parse(text); } catch (e) { j = null; } }
  if (!r.ok) throw new ApiError(r.status, (j && j.error) || ("HTTP " + r.status));
  return j;
}

const now = () => Date.now() + S.clockOffset;

function dur(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return d + " d " + hh + " h";
  if (hh) return hh + " h " + m + " min";
  if (m) return m + " min";
  return s + " s";
}

function absTime(t) {
  if (!t) return "";
  const d = new Date(t);
  return d.toISOString().replace(".000Z", "Z") + " (local " + d.toLocaleString() + ")";
}

function age(t, prefix = "for ") {
  if (!t) return h("span", { class: "age muted" }, "never");
  return h("time", { class: "age", datetime: t, title: absTime(t), "data-prefix": prefix },
    prefix + dur(now() - Date.parse(t)));
}

function refreshAges() {
  for (const el of document.querySelectorAll("time.age")) {
    el.textContent = el.dataset.prefix + dur(now() - Date.parse(el.getAttribute("datetime")));
  }
}

function stBadge(name) {
  const n = name || "PENDING";
  return h("span", { class: "st st-" + n }, n);
}

function firstLine(s) { return (s || "").split("\n")[0]; }

function fmtNum(n) { return Number(n).toLocaleString("en-US"); }

function matches(...fields) {
  if (!S.filter) return true;
  const f = S.filter.toLowerCase();
  return fields.some((x) => (x || "").toString().toLowerCase().includes(f));
}

function nav(path) {
  history.pushState(null, "", path);
  route();
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-nav]");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  nav(a.getAttribute("href"));
});
window.addEventListener("popstate", () => route());

// ---- login -----------------------------------------------------------------------

function showLogin(msg) {
  $("#bar").hidden = true;
  const err = h("p", { class: "error", role: "alert", id: "login-error" }, msg || "");
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "current-password",
    required: true, "aria-label": "API token", placeholder: "API token" });
  const form = h("form", { class: "login", id: "login-form" },
    h("h1", {}, "custos"),
    h("p", { class: "muted" }, "Log in with an admin or viewer API token."),
    input, err, h("button", { type: "submit", id: "login-submit" }, "Log in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      await api("POST", "/api/v1/session", { token: input.value.trim() });
      input.value = "";
      await start(true);
    } catch (x) {
      err.textContent = x.status === 401 ? "Unknown token." : x.message;
    }
  });
  main().replaceChildren(form);
  input.focus();
}

$("#logout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/v1/session"); } catch (e) { /* gone anyway */ }
  if (S.es) { S.es.close(); S.es = null; }
  S.me = null;
  showLogin("Logged out.");
});

// ---- the live stream -------------------------------------------------------------

function setLive(up) {
  const el = $("#live");
  if (up) {
    S.lastDown = null;
    el.className = "live up";
    el.textContent = "live";
    el.dataset.state = "up";
  } else {
    if (!S.lastDown) S.lastDown = Date.now();
    el.className = "live down";
    el.textContent = "reconnecting since " + dur(Date.now() - S.lastDown);
    el.dataset.state = "down";
  }
}

function connect() {
  if (S.es) S.es.close();
  // EventSource reconnects by itself and sends Last-Event-ID
  const es = new EventSource("/api/v1/stream");
  S.es = es;
  es.onopen = () => setLive(true);
  es.onerror = () => {
    setLive(false);
    if (es.readyState === EventSource.CLOSED) {
      // refused (session gone?): find out, and retry
      api("GET", "/api/v1/session").then(() => setTimeout(connect, 2000),
        (x) => { if (x.status === 401) showLogin("Your session ended; log in again."); });
    }
  };
  es.addEventListener("check", (m) => onCheck(JSON.parse(m.data)));
  es.addEventListener("agent", (m) => onAgent(JSON.parse(m.data)));
  es.addEventListener("event", (m) => onEvent(JSON.parse(m.data)));
  es.addEventListener("reset", () => reloadView());
}

function onCheck(c) {
  if (S.view === "overview") {
    const st = c.state && c.state.status;
    const isProblem = c.enabled && st && st !== "OK" && st !== null;
    const had = S.problems.has(c.id);
    if (isProblem) S.problems.set(c.id, c);
    else S.problems.delete(c.id);
    if (isProblem || had) renderProblems(c.id);
    scheduleRefresh();
  } else if (S.view === "check" && S.viewId === c.id) {
    renderCheckState(c);
  } else if (S.view === "agent" && S.viewId === c.agent_id) {
    scheduleRefresh();
  }
}

function onAgent(a) {
  if (S.view === "overview") {
    const i = S.agents.findIndex((x) => x.id === a.id);
    if (i >= 0) S.agents[i] = a; else S.agents.push(a);
    renderAgents();
    scheduleRefresh();
  } else if (S.view === "agent" && S.viewId === a.id) {
    scheduleRefresh();
  }
}

function onEvent(e) {
  if (S.view === "check" && e.check_id === S.viewId && e.kind === "ACKNOWLEDGEMENT") {
    S.ackInfo = e.detail;
    if (S.check) renderCheckState(S.check);
  }
  if (S.view === "overview" || S.view === "events") {
    S.events.unshift(e);
    if (S.events.length > 500) S.events.length = 500;
    renderEvents();
  }
}

// After a change arrives, re-read what the frames do not carry (counts,
// downtimes): at most once a second, and only when something changed.
function scheduleRefresh() {
  if (S.refreshTimer) return;
  S.refreshTimer = setTimeout(async () => {
    S.refreshTimer = null;
    try {
      if (S.view === "overview") await loadOverviewData(false);
      else if (S.view === "agent") await renderAgentPage(S.viewId, true);
    } catch (e) { /* the next change tries again */ }
  }, 1000);
}

// ---- overview -----------------------------------------------------------------------

function isDown(c) {
  return S.downtimes.get("c" + c.id) || S.downtimes.get("a" + c.agent_id) || null;
}

function sortedProblems() {
  const list = [...S.problems.values()].filter((c) => {
    const st = c.state.status;
    if (S.countFilter && SEV[S.countFilter] !== undefined && st !== S.countFilter) return false;
    if (S.countFilter === "unacked" && (c.state.acknowledged || c.state.in_downtime)) return false;
    return matches(c.agent_name, c.name, c.state.output);
  });
  const since = new Map(list.map((c) => [c.id, Date.parse(c.state.since) || 0]));
  list.sort((a, b) => (SEV[a.state.status] ?? 3) - (SEV[b.state.status] ?? 3)
    || (a.state.acknowledged ? 1 : 0) - (b.state.acknowledged ? 1 : 0)
    || since.get(a.id) - since.get(b.id)
    || a.id - b.id);
  return list;
}

function problemRow(c) {
  const s = c.state;
  const dtEnd = isDown(c);
  const marks = [];
  if (s.acknowledged) marks.push(h("span", { class: "mark mark-ack", title: "acknowledged" }, "ACK"));
  if (s.in_downtime || dtEnd) marks.push(h("span", { class: "mark mark-dt",
    title: dtEnd ? "in downtime until " + absTime(dtEnd) : "in downtime" },
    dtEnd ? "DOWNTIME until " + new Date(dtEnd).toLocaleString() : "DOWNTIME"));
  if (s.flapping) marks.push(h("span", { class: "mark mark-flap" }, "FLAPPING"));
  if (c.agent_state === "down") marks.push(h("span", { class: "mark" }, "AGENT DOWN"));
  const actions = S.me.role === "admin" ? h("td", { class: "actions" },
    h("button", { type: "button", class: "act-ack", onclick: () => ackDialog(c) }, "Ack"), " ",
    h("button", { type: "button", class: "act-dt", onclick: () => downtimeDialog({ check: c }) }, "Downtime"))
    : null;
  return h("tr", { "data-check-id": c.id, "data-status": s.status },
    h("td", {}, stBadge(s.status)),
    h("td", {}, h("a", { href: "/checks/" + c.id, "data-nav": true }, c.agent_name + "/" + c.name),
      s.state_type === "SOFT" ? h("span", { class: "muted" }, " (SOFT " + s.attempt + "/" + c.max_attempts + ")") : null),
    h("td", { class: "out hide-s" }, firstLine(s.output)),
    h("td", {}, age(s.since)),
    h("td", { class: "marks" }, marks),
    actions);
}

// Into an empty table (the first paint after login or a reload) only the
// first FIRST_ROWS rows go at once - more than a screen holds - and the
// rest after the frame that paints them: 500 rows built at once cost a few
// hundred ms of a loaded phone or VM before anything shows.
const FIRST_ROWS = 60;

function renderProblems(changedId) {
  const tbody = $("#problems tbody");
  if (!tbody) return;
  const list = sortedProblems();
  const keep = new Map();
  for (const tr of tbody.children) keep.set(Number(tr.dataset.checkId), tr);
  const rows = [];
  let limit = Math.min(list.length, S.problemLimit || 1000);
  if (!tbody.firstChild && limit > FIRST_ROWS) {
    limit = FIRST_ROWS;
    requestAnimationFrame(() => setTimeout(() => renderProblems(), 0));
  }
  for (let i = 0; i < limit; i++) {
    const c = list[i];
    let tr = keep.get(c.id);
    const key = JSON.stringify([c.state, isDown(c), c.agent_state]);
    if (!tr || tr.dataset.key !== key) {
      const fresh = problemRow(c);
      fresh.dataset.key = key;
      if (tr) { tr.replaceWith(fresh); }
      tr = fresh;
      if (c.id === changedId) tr.classList.add("flash");
    }
    keep.delete(c.id);
    rows.push(tr);
  }
  for (const tr of keep.values()) tr.remove();
  if (!tbody.firstChild) {
    // the first paint: every row at once
    const frag = document.createDocumentFragment();
    frag.append(...rows);
    tbody.append(frag);
  } else {
    // move rows into order without rebuilding the ones in place
    let prev = null;
    for (const tr of rows) {
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== tr) tbody.insertBefore(tr, want);
      prev = tr;
    }
  }
  $("#problems-empty").hidden = list.length > 0;
  const more = $("#problems-more");
  const shown = Math.min(list.length, S.problemLimit || 1000);
  more.hidden = list.length <= shown;
  more.textContent = "Show " + fmtNum(list.length - shown) + " more";
  if (S.sel >= rows.length) S.sel = rows.length - 1;
  markSel();
}

function renderCounts() {
  const st = S.status;
  if (!st) return;
  const unacked = [...S.problems.values()].filter((c) => !c.state.acknowledged && !c.state.in_downtime).length;
  const items = [
    ["CRITICAL", st.counts.CRITICAL, "st-CRITICAL"], ["WARNING", st.counts.WARNING, "st-WARNING"],
    ["UNKNOWN", st.counts.UNKNOWN, "st-UNKNOWN"], ["down", st.agents.down, "st-down"],
    ["unacked", unacked, ""],
  ];
  const label = { down: "agents DOWN", unacked: "unacknowledged" };
  $("#counts").replaceChildren(...items.map(([k, n]) => h("a", {
    href: "#", "data-count": k, class: S.countFilter === k ? "on" : null,
    onclick: (e) => { e.preventDefault(); S.countFilter = S.countFilter === k ? null : k; renderCounts(); renderProblems(); renderAgents(); },
  }, h("b", {}, fmtNum(n)), " ", label[k] || k)));
  const okl = $("#okline");
  if (okl) {
    const up = st.agents.up + st.agents.down + st.agents.new;
    okl.textContent = fmtNum(st.counts.OK) + " checks OK on " + fmtNum(up) + " agents"
      + (st.counts.PENDING ? ", " + fmtNum(st.counts.PENDING) + " pending" : "") + " ▸";
  }
}

function renderAgents() {
  const el = $("#agents");
  if (!el) return;
  const bad = S.agents.filter((a) => (a.state === "down" || (a.state === "new" && S.countFilter !== "down"))
    && matches(a.name));
  bad.sort((a, b) => (a.state === "down" ? 0 : 1) - (b.state === "down" ? 0 : 1) || a.name.localeCompare(b.name));
  if (!bad.length) { el.replaceChildren(h("p", { class: "muted" }, "Every agent is up.")); return; }
  el.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "Agent"),
    h("th", {}, "Since"), h("th", { class: "hide-s" }, "Last checkout"))),
  h("tbody", {}, bad.map((a) => h("tr", { "data-agent-id": a.id },
    h("td", {}, h("span", { class: "st st-" + a.state }, a.state.toUpperCase())),
    h("td", {}, h("a", { href: "/agents/" + a.id, "data-nav": true }, a.name)),
    h("td", {}, a.state === "down" ? age(a.next_checkout_by, "down for ") : age(a.created_at, "new for ")),
    h("td", { class: "hide-s" }, a.last_checkout_at ? age(a.last_checkout_at, "") : "never"))))));
}

function eventRow(e) {
  const what = e.check ? (e.agent + "/" + e.check) : (e.agent || "");
  const change = e.prev_status && e.status ? e.prev_status + " → " + e.status : (e.status || "");
  return h("tr", { "data-event-id": e.id },
    h("td", { class: "age", title: absTime(e.created_at) }, new Date(e.created_at).toLocaleTimeString()),
    h("td", {}, e.kind),
    h("td", {}, e.check_id ? h("a", { href: "/checks/" + e.check_id, "data-nav": true }, what)
      : e.agent_id ? h("a", { href: "/agents/" + e.agent_id, "data-nav": true }, what) : what),
    h("td", {}, change),
    h("td", { class: "out hide-s" }, firstLine(e.output)));
}

function renderEvents() {
  const el = $("#events");
  if (!el) return;
  let list = S.events.filter((e) => matches(e.agent, e.check, e.kind, e.output));
  if (S.view === "overview") {
    const today = new Date(now()); today.setHours(0, 0, 0, 0);
    list = list.filter((e) => Date.parse(e.created_at) >= today.getTime()).slice(0, 50);
  }
  if (!list.length) { el.replaceChildren(h("p", { class: "muted" }, "No events.")); return; }
  el.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Kind"),
    h("th", {}, "Agent/check"), h("th", {}, "Change"), h("th", { class: "hide-s" }, "Output"))),
  h("tbody", {}, list.map(eventRow))));
}

async function loadAgents() {
  let all = [], cursor = null;
  for (let i = 0; i < 20; i++) {
    const j = await api("GET", "/api/v1/agents?limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    all = all.concat(j.items);
    if (!j.next) break;
    cursor = j.next;
  }
  return all;
}

async function loadDowntimes() {
  const j = await api("GET", "/api/v1/downtimes?active=true&limit=1000");
  const m = new Map();
  for (const d of j.items) {
    const k = d.check_id ? "c" + d.check_id : "a" + d.agent_id;
    if (!m.has(k) || Date.parse(m.get(k)) < Date.parse(d.end)) m.set(k, d.end);
  }
  return m;
}

// The problems are painted from /status alone (one request; the one asked
// for together with /session right after a login); agents, downtimes and
// the day's events follow, in parallel, after that paint.
async function loadOverviewData(first) {
  const pre = first ? S.prefetch : null;
  S.prefetch = null;
  const st = await (pre || api("GET", "/api/v1/status"));
  S.status = st;
  S.clockOffset = Date.parse(st.server_time) - Date.now();
  S.problems = new Map(st.problems.map((c) => [c.id, c]));
  renderCounts();
  renderProblems();
  const evp = first ? api("GET", "/api/v1/events?since_id=" + Math.max(0, st.last_event_id - 200) + "&limit=200") : null;
  const [agents, dts] = await Promise.all([loadAgents(), loadDowntimes()]);
  S.agents = agents;
  S.downtimes = dts;
  renderProblems();
  renderAgents();
  if (evp) {
    const ev = await evp;
    S.events = ev.items.reverse();
    renderEvents();
  }
}

async function renderOverview() {
  S.view = "overview";
  S.problemLimit = 1000;
  main().replaceChildren(
    h("h1", {}, "Problems"),
    h("table", { id: "problems" }, h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "Agent/check"),
      h("th", { class: "hide-s" }, "Output"), h("th", {}, "Since"), h("th", {}, "Marks"),
      S.me.role === "admin" ? h("th", {}, "Actions") : null)), h("tbody", {})),
    h("p", { id: "problems-empty", class: "muted", hidden: true }, "No problems. All is well."),
    h("button", { id: "problems-more", type: "button", hidden: true,
      onclick: () => { S.problemLimit += 1000; renderProblems(); } }, ""),
    h("h2", {}, "Agents down and new"), h("div", { id: "agents" }),
    h("h2", {}, "Everything else"),
    h("button", { id: "okline", class: "okline", type: "button", onclick: expandOk }, "…"),
    h("div", { id: "oklist" }),
    h("h2", {}, "Today's events"), h("div", { id: "events" }));
  if (S.okOpen) expandOk().catch(() => {});
  await loadOverviewData(true);
}

async function expandOk() {
  const box = $("#oklist");
  if (box.dataset.open) { delete box.dataset.open; S.okOpen = false; box.replaceChildren(); return; }
  box.dataset.open = "1";
  S.okOpen = true;   // stays open when the overview is drawn again (a stream reset)
  const tbody = h("tbody", {});
  let cursor = null;
  const more = h("button", { type: "button" }, "More");
  async function page() {
    const j = await api("GET", "/api/v1/checks?status=OK&limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    for (const c of j.items) {
      tbody.append(h("tr", {}, h("td", {}, stBadge("OK")),
        h("td", {}, h("a", { href: "/checks/" + c.id, "data-nav": true }, "check " + c.name)),
        h("td", { class: "out hide-s" }, firstLine(c.state && c.state.output))));
    }
    cursor = j.next;
    more.hidden = !cursor;
  }
  more.addEventListener("click", page);
  box.replaceChildren(h("table", {}, tbody), more);
  await page();
}

// ---- dialogs: acknowledge, downtime ---------------------------------------------------

function dialog(title, body, onOk) {
  const dlg = $("#dlg");
  $("#dlg-title").textContent = title;
  $("#dlg-body").replaceChildren(...body);
  $("#dlg-error").textContent = "";
  const form = $("#dlg-form");
  form.onsubmit = async (e) => {
    e.preventDefault();
    $("#dlg-error").textContent = "";
    try {
      await onOk();
      dlg.close();
    } catch (x) {
      $("#dlg-error").textContent = x.message;   // the API's own message
    }
  };
  $("#dlg-cancel").onclick = () => dlg.close();
  dlg.showModal();
  const f = $("#dlg-body input, #dlg-body select, #dlg-body textarea");
  if (f) f.focus();
}

const DURATIONS = [["", "no expiry"], ["1", "1 h"], ["2", "2 h"], ["4", "4 h"], ["8", "8 h"], ["24", "1 day"], ["168", "1 week"]];

function ackDialog(c) {
  const comment = h("input", { id: "ack-comment", required: true, maxlength: 1000, placeholder: "who looks at it, what is known" });
  const exp = h("select", { id: "ack-expires" }, DURATIONS.map(([v, t]) => h("option", { value: v }, t)));
  dialog("Acknowledge " + c.agent_name + "/" + c.name, [
    h("label", {}, "Comment", comment), h("label", {}, "Expires after", exp)], async () => {
    const body = { comment: comment.value };
    if (exp.value) body.expires_at = new Date(now() + Number(exp.value) * 3600e3).toISOString();
    await api("POST", "/api/v1/checks/" + c.id + "/ack", body);
  });
}

function localInput(ms) {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

function downtimeDialog({ check, agent }) {
  const name = check ? check.agent_name + "/" + check.name : agent.name;
  const scope = check ? h("select", { id: "dt-scope" },
    h("option", { value: "check" }, "this check"), h("option", { value: "agent" }, "the whole agent " + check.agent_name)) : null;
  const forSel = h("select", { id: "dt-for" }, DURATIONS.slice(1).map(([v, t]) => h("option", { value: v, selected: v === "2" }, t)),
    h("option", { value: "custom" }, "from … to …"));
  const start = h("input", { id: "dt-start", type: "datetime-local", value: localInput(now()) });
  const end = h("input", { id: "dt-end", type: "datetime-local", value: localInput(now() + 2 * 3600e3) });
  const custom = h("div", { hidden: true }, h("label", {}, "Start", start), h("label", {}, "End", end));
  forSel.addEventListener("change", () => { custom.hidden = forSel.value !== "custom"; });
  const comment = h("input", { id: "dt-comment", maxlength: 1000, placeholder: "why" });
  dialog("Downtime for " + name, [scope ? h("label", {}, "For", scope) : null,
    h("label", {}, "Duration", forSel), custom, h("label", {}, "Comment", comment)].filter(Boolean), async () => {
    let s, e;
    if (forSel.value === "custom") { s = new Date(start.value); e = new Date(end.value); }
    else { s = new Date(now()); e = new Date(now() + Number(forSel.value) * 3600e3); }
    if (!(e > s)) throw new Error("the end must be after the start");
    const body = { start: s.toISOString(), end: e.toISOString(), comment: comment.value };
    if (check && (!scope || scope.value === "check")) body.check_id = check.id;
    else body.agent_id = check ? check.agent_id : agent.id;
    await api("POST", "/api/v1/downtimes", body);
  });
}

// ---- check page -------------------------------------------------------------------------

function thresholdWords(c, v) {
  const parts = [];
  if (v !== null && v !== undefined) parts.push("value " + v);
  if (c.warning) parts.push("warning outside " + c.warning);
  if (c.critical) parts.push("critical outside " + c.critical);
  return parts.join(", ");
}

// simple Nagios ranges "N", "N:", "~:N", "N:M" as [lo, hi] of the OK zone
function okZone(r) {
  if (!r || r.startsWith("@")) return null;
  const [a, b] = r.includes(":") ? r.split(":") : ["0", r];
  return [a === "~" || a === "" ? -Infinity : Number(a), b === "" || b === undefined ? Infinity : Number(b)];
}

// The chart reads GET /api/v1/checks/{id}/summary (roll-ups, always
// current), never raw history: the last hour by minute (<= 60 buckets), the
// last day by hour (<= 24), the last 30 days by day (<= 30) - the API's own
// defaults per bucket size. The line is each bucket's average, the shaded
// band its min..max; the x axis is the whole window, so gaps show.
const RANGES = {
  hour: { by: "minute", ms: 3600e3, label: "hour", step: 60e3 },
  day: { by: "hour", ms: 86400e3, label: "day", step: 3600e3 },
  month: { by: "day", ms: 30 * 86400e3, label: "30 days", step: 86400e3 },
};

function chart(items, c, range, t0, t1) {
  const pts = items.filter((i) => i.avg !== null && i.avg !== undefined)
    .map((i) => [Date.parse(i.start) + range.step / 2, i.avg, i.min ?? i.avg, i.max ?? i.avg])
    .sort((a, b) => a[0] - b[0]);
  const W = 600, H = 160;
  const el = svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", role: "img",
    "aria-label": "value over the last " + range.label, "data-by": range.by, "data-points": pts.length });
  if (pts.length < 1) {
    const t = svg("text", { x: 10, y: 20 }); t.textContent = "no values in the last " + range.label; el.append(t);
    return el;
  }
  let lo = Math.min(...pts.map((p) => p[2])), hi = Math.max(...pts.map((p) => p[3]));
  for (const z of [okZone(c.warning), okZone(c.critical)]) {
    if (z) for (const b of z) if (isFinite(b)) { lo = Math.min(lo, b); hi = Math.max(hi, b); }
  }
  if (hi === lo) { hi += 1; lo -= 1; }
  const X = (t) => ((t - t0) / Math.max(1, t1 - t0)) * W;
  const Y = (v) => H - ((v - lo) / (hi - lo)) * (H - 10) - 5;
  for (const [r, cls] of [[c.warning, "band-w"], [c.critical, "band-c"]]) {
    const z = okZone(r);
    if (!z) continue;
    if (isFinite(z[1])) el.append(svg("rect", { class: cls, x: 0, y: 0, width: W, height: Math.max(0, Y(z[1])) }));
    if (isFinite(z[0])) el.append(svg("rect", { class: cls, x: 0, y: Y(z[0]), width: W, height: Math.max(0, H - Y(z[0])) }));
  }
  const xy = (t, v) => X(t).toFixed(1) + "," + Y(v).toFixed(1);
  el.append(svg("polygon", { class: "range", points: pts.map((p) => xy(p[0], p[3]))
    .concat(pts.slice().reverse().map((p) => xy(p[0], p[2]))).join(" ") }));
  if (pts.length === 1) {
    const p = pts[0], w = Math.max(2, (range.step / Math.max(1, t1 - t0)) * W / 2);
    el.append(svg("polyline", { class: "line", points: (X(p[0]) - w).toFixed(1) + "," + Y(p[1]).toFixed(1)
      + " " + (X(p[0]) + w).toFixed(1) + "," + Y(p[1]).toFixed(1) }));
  } else {
    el.append(svg("polyline", { class: "line", points: pts.map((p) => xy(p[0], p[1])).join(" ") }));
  }
  const l1 = svg("text", { x: 4, y: 12 }); l1.textContent = String(hi); el.append(l1);
  const l2 = svg("text", { x: 4, y: H - 4 }); l2.textContent = String(lo); el.append(l2);
  return el;
}

async function loadChart(c, key) {
  const range = RANGES[key];
  S.chartRange = key;
  const t1 = now(), t0 = t1 - range.ms;
  const j = await api("GET", "/api/v1/checks/" + c.id + "/summary?by=" + range.by
    + "&since=" + encodeURIComponent(new Date(t0).toISOString())
    + "&until=" + encodeURIComponent(new Date(t1).toISOString()));
  if (S.view !== "check" || S.viewId !== c.id || S.chartRange !== key) return;
  $("#chart-title").textContent = "Value, last " + range.label;
  for (const b of document.querySelectorAll("#chart-ranges button")) b.setAttribute("aria-pressed", String(b.dataset.range === key));
  $("#check-chart").replaceChildren(chart(j.items, c, range, t0, t1));
}

function renderCheckState(c) {
  const el = $("#check-state");
  if (!el) return;
  S.check = c;
  const s = c.state || {};
  const dtEnd = S.downtimes.get("c" + c.id) || S.downtimes.get("a" + c.agent_id);
  const admin = S.me.role === "admin";
  el.replaceChildren(
    h("p", {}, stBadge(s.status), " ", s.state_type || "", s.state_type === "SOFT" ? " attempt " + s.attempt + "/" + c.max_attempts : "",
      " ", s.since ? age(s.since, "since ") : "", " ",
      s.acknowledged ? h("span", { class: "mark mark-ack", id: "mark-ack" }, "ACK") : null,
      s.in_downtime || dtEnd ? h("span", { class: "mark mark-dt", id: "mark-dt" }, dtEnd ? "DOWNTIME until " + new Date(dtEnd).toLocaleString() : "DOWNTIME") : null,
      s.flapping ? h("span", { class: "mark mark-flap" }, "FLAPPING " + Math.round(s.flap_pct || 0) + " %") : null,
      c.enabled ? null : h("span", { class: "mark" }, "DISABLED")),
    h("dl", { class: "grid" },
      h("dt", {}, "Agent"), h("dd", {}, h("a", { href: "/agents/" + c.agent_id, "data-nav": true }, c.agent_name || ("agent " + c.agent_id))),
      h("dt", {}, "Type"), h("dd", {}, c.type),
      h("dt", {}, "Last result"), h("dd", {}, s.last_result_at ? age(s.last_result_at, "") : "never", s.last_result_at ? " ago" : ""),
      h("dt", {}, "Value"), h("dd", {}, thresholdWords(c, s.value) || "—")),
    s.acknowledged && S.ackInfo ? h("p", { id: "ack-info" }, "Acknowledged by " + (S.ackInfo.by || "?")
      + (S.ackInfo.comment ? ": “" + S.ackInfo.comment + "”" : "")
      + (S.ackInfo.expires_at ? " (until " + new Date(S.ackInfo.expires_at).toLocaleString() + ")" : "")) : null,
    h("pre", { class: "out", id: "check-output" }, s.output || ""),
    admin ? h("p", { class: "actions" },
      s.acknowledged ? h("button", { type: "button", id: "act-unack", onclick: () => act(() => api("DELETE", "/api/v1/checks/" + c.id + "/ack")) }, "Remove acknowledgement")
        : h("button", { type: "button", id: "act-ack", onclick: () => ackDialog(c), disabled: s.status === "OK" || !s.status }, "Acknowledge"), " ",
      h("button", { type: "button", id: "act-dt", onclick: () => downtimeDialog({ check: c }) }, "Downtime"), " ",
      h("button", { type: "button", id: "act-enable", onclick: () => act(() => api("PATCH", "/api/v1/checks/" + c.id, { enabled: !c.enabled })) },
        c.enabled ? "Disable" : "Enable"),
      h("span", { class: "error", id: "act-error", role: "alert" })) : null);
}

async function act(fn) {
  const err = $("#act-error");
  if (err) err.textContent = "";
  try {
    await fn();
    if (S.view === "check") await loadCheck(S.viewId);
  } catch (x) {
    if (err) err.textContent = x.message;
  }
}

async function loadCheck(id) {
  const c = await api("GET", "/api/v1/checks/" + id);
  const [agent, dts] = await Promise.all([api("GET", "/api/v1/agents/" + c.agent_id), loadDowntimes()]);
  c.agent_name = agent.name;
  S.downtimes = dts;
  $("#check-title").textContent = agent.name + "/" + c.name;
  document.title = agent.name + "/" + c.name + " - custos";
  renderCheckState(c);
  return c;
}

async function renderCheckPage(id) {
  S.view = "check";
  S.viewId = id;
  main().replaceChildren(h("h1", { id: "check-title" }, "check " + id), h("div", { id: "check-state" }),
    h("h2", { id: "chart-title" }, "Value, last day"),
    h("p", { id: "chart-ranges", class: "ranges" }, Object.entries(RANGES).map(([k, r]) =>
      h("button", { type: "button", "data-range": k, "aria-pressed": String(k === "day"),
        onclick: () => { if (S.check) loadChart(S.check, k).catch((x) => { $("#check-chart").textContent = x.message; }); } }, r.label))),
    h("div", { id: "check-chart" }),
    h("h2", {}, "Last 50 results"), h("div", { id: "check-history" }),
    h("h2", {}, "Notifications"), h("div", { id: "check-notifications" }),
    h("h2", {}, "Events"), h("div", { id: "events" }));
  let c;
  try {
    c = await loadCheck(id);
  } catch (x) {
    main().replaceChildren(h("h1", {}, "check " + id), h("p", { class: "error" }, x.message));
    return;
  }
  const [hist, notes, evs] = await Promise.all([
    api("GET", "/api/v1/checks/" + id + "/history?limit=50"),
    api("GET", "/api/v1/notifications?check_id=" + id + "&limit=50"),
    api("GET", "/api/v1/events?check_id=" + id + "&limit=1000"),
    loadChart(c, "day")]);
  $("#check-history").replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "Observed"),
    h("th", {}, "Value"), h("th", { class: "hide-s" }, "Output"))),
  h("tbody", {}, hist.items.map((i) => h("tr", {}, h("td", {}, stBadge(i.status)),
    h("td", { title: absTime(i.observed_at) }, new Date(i.observed_at).toLocaleString()),
    h("td", {}, i.value === null ? "—" : String(i.value)), h("td", { class: "out hide-s" }, firstLine(i.output)))))));
  $("#check-notifications").replaceChildren(notes.items.length ? h("table", {}, h("thead", {}, h("tr", {},
    h("th", {}, "Time"), h("th", {}, "Kind"), h("th", {}, "Channel"), h("th", {}, "Contact"), h("th", {}, "Status"), h("th", {}, "Attempts"))),
  h("tbody", {}, notes.items.map((n) => h("tr", {}, h("td", { title: absTime(n.created_at) }, new Date(n.created_at).toLocaleString()),
    h("td", {}, n.kind), h("td", {}, n.channel), h("td", {}, n.contact || "—"), h("td", {}, n.status + (n.last_error ? ": " + n.last_error : "")),
    h("td", {}, String(n.attempts)))))) : h("p", { class: "muted" }, "None sent."));
  S.events = evs.items.reverse().slice(0, 50);
  const ack = S.events.find((e) => e.kind === "ACKNOWLEDGEMENT");
  S.ackInfo = ack ? ack.detail : null;
  renderCheckState(S.check);
  renderEvents();
}

// ---- agent page ------------------------------------------------------------------------

async function renderAgentPage(id, refresh) {
  if (!refresh) {
    S.view = "agent";
    S.viewId = id;
    main().replaceChildren(h("h1", { id: "agent-title" }, "agent " + id), h("div", { id: "agent-state" }),
      h("h2", {}, "Checks"), h("div", { id: "agent-checks" }), h("h2", {}, "Facts"), h("div", { id: "agent-facts" }),
      h("h2", {}, "Downtimes"), h("div", { id: "agent-downtimes" }));
  }
  let a;
  try { a = await api("GET", "/api/v1/agents/" + id); } catch (x) {
    main().replaceChildren(h("h1", {}, "agent " + id), h("p", { class: "error" }, x.message));
    return;
  }
  const [checks, dts] = await Promise.all([api("GET", "/api/v1/checks?agent_id=" + id + "&limit=1000"),
    api("GET", "/api/v1/downtimes?agent_id=" + id + "&limit=100")]);
  $("#agent-title").textContent = a.name;
  document.title = a.name + " - custos";
  $("#agent-state").replaceChildren(h("p", {}, h("span", { class: "st st-" + a.state }, a.state.toUpperCase()), " ",
    a.state === "down" ? age(a.next_checkout_by, "down for ") : ""),
  h("dl", { class: "grid" }, h("dt", {}, "Last checkout"), h("dd", {}, a.last_checkout_at ? age(a.last_checkout_at, "") : "never", a.last_checkout_at ? " ago" : ""),
    h("dt", {}, "Version"), h("dd", {}, a.version || "—"), h("dt", {}, "Interval"), h("dd", {}, a.interval_s + " s")),
  S.me.role === "admin" ? h("p", { class: "actions" }, h("button", { type: "button", id: "act-agent-dt",
    onclick: () => downtimeDialog({ agent: a }) }, "Downtime for the agent")) : null);
  $("#agent-checks").replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "Check"), h("th", {}, "Since"), h("th", { class: "hide-s" }, "Output"))),
    h("tbody", {}, checks.items.map((c) => h("tr", { "data-check-id": c.id }, h("td", {}, stBadge(c.state && c.state.status)),
      h("td", {}, h("a", { href: "/checks/" + c.id, "data-nav": true }, c.name), c.enabled ? "" : " (disabled)"),
      h("td", {}, c.state && c.state.since ? age(c.state.since, "") : "—"), h("td", { class: "out hide-s" }, firstLine(c.state && c.state.output)))))));
  const facts = a.facts || {};
  $("#agent-facts").replaceChildren(Object.keys(facts).length ? h("dl", { class: "grid" }, Object.entries(facts).map(([k, v]) =>
    [h("dt", {}, k), h("dd", { class: "out" }, typeof v === "string" ? v : JSON.stringify(v))])) : h("p", { class: "muted" }, "No facts reported."));
  $("#agent-downtimes").replaceChildren(dts.items.length ? h("ul", {}, dts.items.map((d) => h("li", {},
    (d.check_id ? "check " + d.check_id : "whole agent") + ": " + new Date(d.start).toLocaleString() + " → " + new Date(d.end).toLocaleString()
    + (d.active ? " (active)" : "") + (d.comment ? " — " + d.comment : "")))) : h("p", { class: "muted" }, "None."));
}

// ---- events and notifications views ----------------------------------------------------

async function renderEventsView() {
  S.view = "events";
  main().replaceChildren(h("h1", {}, "Events"), h("div", { id: "events" }));
  const st = await api("GET", "/api/v1/status");
  const ev = await api("GET", "/api/v1/events?since_id=" + Math.max(0, st.last_event_id - 500) + "&limit=500");
  S.events = ev.items.reverse();
  renderEvents();
}

async function renderNotificationsView() {
  S.view = "notifications";
  const j = await api("GET", "/api/v1/notifications?limit=200");
  main().replaceChildren(h("h1", {}, "Notifications"), h("table", { id: "notifications" }, h("thead", {}, h("tr", {},
    h("th", {}, "Created"), h("th", {}, "Kind"), h("th", {}, "Agent/check"), h("th", {}, "Channel"), h("th", {}, "Contact"),
    h("th", {}, "Status"), h("th", {}, "Attempts"), h("th", { class: "hide-s" }, "Last error"))),
  h("tbody", {}, j.items.filter((n) => matches(n.agent, n.check, n.contact, n.channel, n.status)).map((n) => h("tr", {},
    h("td", { title: absTime(n.created_at) }, new Date(n.created_at).toLocaleString()), h("td", {}, n.kind),
    h("td", {}, n.check_id ? h("a", { href: "/checks/" + n.check_id, "data-nav": true }, (n.agent || "") + "/" + (n.check || "")) : (n.agent || "")),
    h("td", {}, n.channel), h("td", {}, n.contact || "—"), h("td", {}, n.status), h("td", {}, String(n.attempts)),
    h("td", { class: "out hide-s" }, n.last_error || ""))))));
}

// ---- routing and keys --------------------------------------------------------------------

async function route() {
  if (!S.me) return;
  const p = location.pathname;
  const q = new URLSearchParams(location.search);
  let m;
  S.sel = -1;
  if (!isOverviewRoute()) S.prefetch = null;
  try {
    if ((m = p.match(/^\/checks\/(\d+)\/?$/))) await renderCheckPage(Number(m[1]));
    else if ((m = p.match(/^\/agents\/(\d+)\/?$/))) await renderAgentPage(Number(m[1]));
    else if (q.get("view") === "events") await renderEventsView();
    else if (q.get("view") === "notifications") await renderNotificationsView();
    else { document.title = "custos"; await renderOverview(); }
    S.prefetch = null;
  } catch (x) {
    if (x.status === 401) showLogin("Your session ended; log in again.");
    else main().append(h("p", { class: "error", role: "alert" }, x.message));
  }
}

function reloadView() { route(); }

function markSel() {
  const rows = [...document.querySelectorAll("#problems tbody tr")];
  rows.forEach((r, i) => r.classList.toggle("sel", i === S.sel));
  if (rows[S.sel]) rows[S.sel].scrollIntoView({ block: "nearest" });
  return rows[S.sel];
}

function selected() {
  const tr = markSel();
  return tr ? S.problems.get(Number(tr.dataset.checkId)) : null;
}

document.addEventListener("keydown", (e) => {
  if (!S.me || e.ctrlKey || e.metaKey || e.altKey) return;
  if ($("#dlg").open || $("#help").open) return;
  const inField = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (inField) {
    if (e.key === "Escape") document.activeElement.blur();
    return;
  }
  const rows = document.querySelectorAll("#problems tbody tr").length;
  const admin = S.me.role === "admin";
  switch (e.key) {
  case "/": e.preventDefault(); $("#filter").focus(); break;
  case "j": S.sel = Math.min(rows - 1, S.sel + 1); markSel(); break;
  case "k": S.sel = Math.max(0, S.sel - 1); markSel(); break;
  case "Enter": { const c = selected(); if (c) nav("/checks/" + c.id); break; }
  case "a": { const c = S.view === "check" ? S.check : selected(); if (c && admin) { e.preventDefault(); ackDialog(c); } break; }
  case "d": { const c = S.view === "check" ? S.check : selected(); if (c && admin) { e.preventDefault(); downtimeDialog({ check: c }); } break; }
  case "g": nav("/"); break;
  case "?": $("#help").showModal(); break;
  default: return;
  }
});

$("#filter").addEventListener("input", (e) => {
  S.filter = e.target.value.trim();
  renderProblems();
  renderAgents();
  renderEvents();
});

// ---- start ---------------------------------------------------------------------------------

// The overview's /status is asked for together with /session (not after
// it): from the login's Enter to the problems on screen is then the login
// POST and one more round trip. Without a session both answer 401.
function isOverviewRoute() {
  const q = new URLSearchParams(location.search);
  return !/^\/(checks|agents)\/\d+\/?$/.test(location.pathname) && !q.get("view");
}

async function start(loggedIn) {
  // just logged in: the cookie is good, so the stream opens first (changes
  // after the /status read below then reach the page)
  if (loggedIn) connect();
  const st = isOverviewRoute() ? api("GET", "/api/v1/status") : null;
  if (st) st.catch(() => {});   // its failure is handled where it is used
  try {
    S.me = await api("GET", "/api/v1/session");
  } catch (x) {
    if (x.status === 401) { showLogin(); return; }
    main().replaceChildren(h("p", { class: "error", role: "alert" }, "custos is unreachable: " + x.message));
    setTimeout(start, 5000);
    return;
  }
  $("#bar").hidden = false;
  document.body.dataset.role = S.me.role;
  if (!loggedIn) connect();
  S.prefetch = st;
  await route();
}

setInterval(() => {
  refreshAges();
  if (S.lastDown) setLive(false);
}, 10000);

start();
