// custos dashboard - plain ES modules, no build step, no third-party code.
//
// One page for every route: / (problems; ?wall=1 for a wall screen),
// /?view=hosts, /?view=downtimes, /?view=events, /?view=notifications,
// /checks/{id}, /agents/{id}. It asks /api/v1/session who it is and shows
// the login form first when there is no session (a user's name and
// password, or an API token); the cookie then stands for that user's or
// token's role on every API call. The overview renders
// /api/v1/status (the server aggregates: counts, problems) and follows the
// live stream, which one SharedWorker (stream-worker.js) holds for every
// tab of the browser: a check frame updates or moves its row in place, and
// after any break of the stream the page re-reads /api/v1/status for what
// it missed. OK checks are never rendered one row each: they collapse into
// one line that expands into pages of 100.
//
// The overview's filters (state, acknowledged, in downtime, flapping,
// text), sort and grouping (?group=agent, ?group=label:KEY) live in the
// URL, so a view can be bookmarked. The counts
// in the header are counted from the same rows the table shows, so they
// always agree with the screen. A check whose agent is DOWN has no current
// state: it is listed as UNKNOWN, marked AGENT DOWN with its last state.
//
// All text from the API goes into the DOM as text nodes (h() below), never
// as HTML; the page has no inline script (the CSP forbids it).

import { drawChart, fmtValue, fmtLocal } from "/ui/chart.js";

const $ = (sel, el = document) => el.querySelector(sel);
const main = () => $("#main");
const SEV = { CRITICAL: 0, UNKNOWN: 1, WARNING: 2 };

const S = {
  me: null,              // {name, role, user_id}: GET /api/v1/session
  status: null,          // last /api/v1/status
  problems: new Map(),   // check id -> check (with state, agent_name)
  downChecks: new Map(), // check id -> check, the checks of DOWN agents not in problems
  downtimes: new Map(),  // "c<id>" / "a<id>" -> end (RFC 3339), active ones
  agents: new Map(),     // agent id -> agent
  agentsLoaded: false,
  events: [],            // newest first
  clockOffset: 0,        // server time - local time, ms
  filter: "",
  selected: new Set(),   // check ids ticked for a bulk action
  sel: -1,
  lastDown: null,
  view: null,
  refreshTimer: null,
  stream: null,
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
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

// replaceChildren() that skips null, undefined and false (which
// replaceChildren itself would show as the text "null")
function put(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
}

// a server string for the page: never "null" or "undefined"
const str = (x, dflt = "") => (x === null || x === undefined ? dflt : String(x));

class ApiError extends Error {
  constructor(status, msg, field, body) { super(msg); this.status = status; this.field = field; this.body = body; }
}

// What a session may do (docs/api.md's roles): an operator acknowledges,
// sets and ends downtimes and enables or disables a check - what one does on
// a bad day; only an admin changes configuration (the threshold editor).
// A viewer reads. The server checks every request anyway: these only keep
// controls that would answer 403 off the page.
const canAct = () => !!S.me && (S.me.role === "admin" || S.me.role === "operator");
const isAdmin = () => !!S.me && S.me.role === "admin";

async function api(method, path, body) {
  const opt = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") opt.headers["Content-Type"] = "application/json";
  if (body !== undefined) opt.body = JSON.stringify(body);
  const r = await fetch(path, opt);
  let j = null;
  const text = await r.text();
  if (text) { try { j = JSON.parse(text); } catch (e) { j = null; } }
  if (!r.ok) throw new ApiError(r.status, (j && j.error) || ("HTTP " + r.status),
    j && typeof j.field === "string" ? j.field : undefined, j);
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
  if (isNaN(d)) return "";
  return d.toISOString().replace(".000Z", "Z") + " (local " + d.toLocaleString() + ")";
}

function localTime(t) {
  const d = new Date(t);
  return t && !isNaN(d) ? d.toLocaleString() : "—";
}

function age(t, prefix = "for ") {
  if (!t || isNaN(Date.parse(t))) return h("span", { class: "age muted" }, "never");
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

function agBadge(state) {
  const s = state || "new";
  return h("span", { class: "st st-" + s }, s.toUpperCase());
}

function firstLine(s) { return str(s).split("\n")[0]; }

function fmtNum(n) { return Number(n || 0).toLocaleString("en-US"); }

function pct(r) {
  return typeof r === "number" && isFinite(r) ? (Math.floor(r * 10000) / 100).toFixed(2) + " %" : "—";
}

function matches(...fields) {
  if (!S.filter) return true;
  const f = S.filter.toLowerCase();
  return fields.some((x) => str(x).toLowerCase().includes(f));
}

// the URL's query: the view's filters, so a view can be bookmarked
function qget(k) { return new URLSearchParams(location.search).get(k) || ""; }
function qset(changes) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) { if (v) q.set(k, v); else q.delete(k); }
  const s = q.toString();
  history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
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

function ready(view) { main().dataset.ready = view; }

// ---- login -----------------------------------------------------------------------

// Two ways in, one session: a person's name and password (a user of
// /api/v1/users; the session has the user's role) or an API token. Both POST
// /api/v1/session and get the same cookie. A login window closed after
// repeated failures (429) is said with its seconds, from retry_after_s.
function loginError(x, unknown) {
  if (x.status === 401) return unknown;
  if (x.status === 429) {
    const s = x.body && Number.isFinite(x.body.retry_after_s) ? x.body.retry_after_s : null;
    return "Too many failed logins: try again " + (s === null ? "later." : "in " + s + " s.");
  }
  return x.message;
}

function showLogin(msg) {
  $("#bar").hidden = true;
  document.body.classList.remove("wall");
  const note = h("p", { class: "muted", role: "status", id: "login-msg" }, msg || "");
  const user = h("input", { type: "text", id: "login-user", name: "user", autocomplete: "username",
    required: true, "aria-label": "Name", placeholder: "Name", autocapitalize: "none", spellcheck: "false" });
  const pass = h("input", { type: "password", id: "login-password", name: "password", autocomplete: "current-password",
    required: true, "aria-label": "Password", placeholder: "Password" });
  const pwErr = h("p", { class: "error", role: "alert", id: "pw-error" }, "");
  const pwForm = h("form", { id: "pw-form" }, user, pass, pwErr, h("button", { type: "submit", id: "pw-submit" }, "Log in"));
  const err = h("p", { class: "error", role: "alert", id: "login-error" }, "");
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "off",
    required: true, "aria-label": "API token", placeholder: "API token" });
  const form = h("form", { id: "login-form" },
    input, err, h("button", { type: "submit", id: "login-submit" }, "Log in with the token"));
  const go = async (btn, body, errEl, unknown, clear) => {
    errEl.textContent = "";
    btn.disabled = true;
    try {
      await api("POST", "/api/v1/session", body);
      clear.value = "";
      await start(true);
    } catch (x) {
      errEl.textContent = loginError(x, unknown);
    } finally {
      btn.disabled = false;
    }
  };
  pwForm.addEventListener("submit", (e) => {
    e.preventDefault();
    go($("#pw-submit"), { user: user.value.trim(), password: pass.value }, pwErr, "Unknown name or wrong password.", pass);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go($("#login-submit"), { token: input.value.trim() }, err, "Unknown token.", input);
  });
  put(main(), h("div", { class: "login" },
    h("h1", {}, "custos"), note,
    h("p", { class: "muted" }, "Log in with your name and password,"), pwForm,
    h("p", { class: "muted" }, "or with an API token."), form));
  main().dataset.ready = "login";
  user.focus();
}

$("#logout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/v1/session"); } catch (e) { /* gone anyway */ }
  streamStop();
  S.me = null;
  showLogin("Logged out.");
});

// ---- the live stream -------------------------------------------------------------
//
// One SharedWorker holds the stream for every tab (stream-worker.js says
// why); where a browser has no SharedWorker (Chrome on Android) the tab
// holds its own EventSource. Either way the stream is closed on pagehide:
// a page left for the back/forward cache keeps no connection open.

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

function onStream(m) {
  switch (m.type) {
  case "up":
    setLive(true);
    if (m.again) reloadData();   // what the break hid: read it again
    break;
  case "down": setLive(false); break;
  case "closed":
    api("GET", "/api/v1/session").catch((x) => {
      if (x.status === 401 && S.me) { S.me = null; streamStop(); showLogin("Your session ended; log in again."); }
    });
    break;
  case "check": onCheck(m.data); break;
  case "agent": onAgent(m.data); break;
  case "event": onEvent(m.data); break;
  case "reset": reloadData(); break;
  default: break;
  }
}

function connect(restart) {
  if (S.stream) {
    if (restart) S.stream.restart();
    return;
  }
  if (typeof SharedWorker === "function") {
    try {
      const w = new SharedWorker("/ui/stream-worker.js", { name: "custos-stream" });
      w.port.onmessage = (e) => onStream(e.data);
      w.port.start();
      w.port.postMessage({ type: restart ? "restart" : "hello" });
      S.stream = {
        restart: () => w.port.postMessage({ type: "restart" }),
        stop: () => w.port.postMessage({ type: "bye" }),
      };
      return;
    } catch (e) { /* fall through: a stream of this tab's own */ }
  }
  let es = null, wasUp = false, broken = false, retry = null;
  const open = () => {
    if (es) es.close();
    const src = new EventSource("/api/v1/stream");
    es = src;
    src.onopen = () => { onStream({ type: "up", again: wasUp || broken }); wasUp = true; broken = false; };
    src.onerror = () => {
      broken = true;
      onStream({ type: "down" });
      if (src.readyState === EventSource.CLOSED) {
        onStream({ type: "closed" });
        retry = setTimeout(() => { if (S.stream) open(); }, 2000);
      }
    };
    for (const kind of ["check", "agent", "event", "reset"]) {
      src.addEventListener(kind, (m) => {
        try { onStream({ type: kind, data: JSON.parse(m.data) }); } catch (x) { /* not JSON */ }
      });
    }
  };
  S.stream = {
    restart: () => { wasUp = false; open(); },
    stop: () => { clearTimeout(retry); if (es) es.close(); es = null; },
  };
  open();
}

function streamStop() {
  if (S.stream) { S.stream.stop(); S.stream = null; }
}

window.addEventListener("pagehide", () => streamStop());
window.addEventListener("pageshow", (e) => {
  // back from the back/forward cache: join the stream again, read again
  if (e.persisted && S.me) { connect(false); reloadData(); }
});

function onCheck(c) {
  const old = S.problems.get(c.id) || S.downChecks.get(c.id);
  if (!c.agent_name) c.agent_name = (old && old.agent_name) || agentName(c.agent_id);
  if (c.agent_state) {
    const a = S.agents.get(c.agent_id);
    if (a) a.state = c.agent_state;
  }
  if (S.view === "overview" || S.view === "wall") {
    const st = c.state && c.state.status;
    const isProblem = c.enabled && st && st !== "OK";
    const had = S.problems.has(c.id) || S.downChecks.has(c.id);
    S.problems.delete(c.id);
    S.downChecks.delete(c.id);
    if (isProblem) S.problems.set(c.id, c);
    else if (c.enabled && agentDown(c)) S.downChecks.set(c.id, c);
    if (isProblem || had) renderProblems(c.id);
    scheduleRefresh();
    return;
  }
  // elsewhere the header's counts follow too
  if (S.status) {
    const st = c.state && c.state.status;
    if (c.enabled && st && st !== "OK") S.problems.set(c.id, c); else S.problems.delete(c.id);
    renderCounts();
  }
  if (S.view === "check" && S.viewId === c.id) {
    c.agent_name = S.check ? S.check.agent_name : c.agent_name;
    renderCheckState(c);
  } else if (S.view === "agent" && S.viewId === c.agent_id) {
    scheduleRefresh();
  } else if (S.view === "hosts") {
    scheduleRefresh();
  }
}

function onAgent(a) {
  const prev = S.agents.get(a.id);
  S.agents.set(a.id, a);
  if (S.view === "overview" || S.view === "wall") {
    if (!prev || prev.state !== a.state) loadDownChecks().then(() => { renderProblems(); renderAgents(); }, () => {});
    renderAgents();
    renderProblems();
  } else if ((S.view === "agent" && S.viewId === a.id) || S.view === "hosts") {
    scheduleRefresh();
  }
}

function onEvent(e) {
  if (S.view === "check" && e.check_id === S.viewId) {
    if (e.kind === "ACKNOWLEDGEMENT") S.ackInfo = e.detail;
    S.events.unshift(e);
    renderEvents();
    if (S.check) renderCheckState(S.check);
  }
  if (S.view === "overview") {
    S.events.unshift(e);
    if (S.events.length > 500) S.events.length = 500;
    renderEvents();
  }
  if (S.view === "events" && eventPasses(e) && !S.eventsQuery.to && (!S.eventsQuery.kind || e.kind === S.eventsQuery.kind)) {
    S.events.unshift(e);
    S.eventsBuf.unshift(e);
    renderEvents();
  }
}

// After a change arrives, re-read what the frames do not carry (downtimes,
// counts of OK checks): at most once a second, and only when something
// changed.
function scheduleRefresh() {
  if (S.refreshTimer) return;
  S.refreshTimer = setTimeout(async () => {
    S.refreshTimer = null;
    try {
      if (S.view === "overview" || S.view === "wall") await loadOverviewData(false);
      else if (S.view === "agent") await renderAgentPage(S.viewId, true);
      else if (S.view === "hosts") await loadHosts();
    } catch (e) { /* the next change tries again */ }
  }, 1000);
}

// the stream came back after a break, or told us to start again: read the
// view's data again (never the whole page: filters and selection stay)
function reloadData() {
  if (!S.me) return;
  if (S.view === "overview" || S.view === "wall") loadOverviewData(false).catch(() => scheduleRefresh());
  else if (S.view === "check") loadCheck(S.viewId).catch(() => {});
  else if (S.view === "agent") renderAgentPage(S.viewId, true).catch(() => {});
  else if (S.view === "hosts") loadHosts().catch(() => {});
}

// ---- overview: problems ------------------------------------------------------------

function agentName(id) {
  const a = S.agents.get(id);
  return a ? a.name : "agent " + id;
}

// since when an agent is in its state: the newest AGENT UP / AGENT DOWN
// event of it (loadAgentSince), else its due checkout (DOWN) or creation
function agentSince(a) {
  const e = S.agentSince && S.agentSince.get(a.id);
  if (a.state_since) return a.state_since;
  if (e && e.state === a.state) return e.at;
  if (a.state === "down") return a.next_checkout_by;
  // up without an AGENT UP event: up since its first checkout, near its creation
  return e ? null : a.created_at;
}

function sinceWords(a) {
  const t = agentSince(a);
  return t ? age(t, a.state === "down" ? "down for " : a.state === "up" ? "up for " : "new for ") : "—";
}

async function loadAgentSince(agentId) {
  const m = S.agentSince || new Map();
  const st = await api("GET", "/api/v1/status");
  for (const [kind, state] of [["AGENT DOWN", "down"], ["AGENT UP", "up"]]) {
    let since = Math.max(0, st.last_event_id - 100000);
    for (let i = 0; i < 20; i++) {
      const j = await api("GET", "/api/v1/events?kind=" + encodeURIComponent(kind) + "&limit=1000&since_id=" + since
        + (agentId ? "&agent_id=" + agentId : ""));
      for (const e of j.items) {
        const cur = m.get(e.agent_id);
        if (!cur || cur.id < e.id) m.set(e.agent_id, { id: e.id, at: e.created_at, state });
      }
      if (!j.next) break;
      since = j.next;
    }
  }
  S.agentSince = m;
}

function agentDown(c) {
  const a = S.agents.get(c.agent_id);
  return a ? a.state === "down" : c.agent_state === "down";
}

function dtEnd(c) {
  return S.downtimes.get("c" + c.id) || S.downtimes.get("a" + c.agent_id) || null;
}

function inDowntime(c) { return !!(c.state && c.state.in_downtime) || !!dtEnd(c); }

// the state a row shows: a DOWN agent's checks have none of their own
function rowState(c) {
  if (agentDown(c)) return "UNKNOWN";
  return (c.state && c.state.status) || "PENDING";
}

function allRows() {
  const out = [...S.problems.values()];
  for (const c of S.downChecks.values()) if (!S.problems.has(c.id)) out.push(c);
  return out;
}

// the overview's filters, read from the URL once per render (not per row)
function filters() {
  const q = new URLSearchParams(location.search);
  return { ack: q.get("ack") || "", dt: q.get("dt") || "", flap: q.get("flap") || "",
    state: (q.get("state") || "").split(",").filter(Boolean) };
}

// every filter but the state's: the counts are counted after these
function passesBase(c, f) {
  const s = c.state || {};
  const { ack, dt, flap } = f;
  if (ack === "yes" && !s.acknowledged) return false;
  if (ack === "no" && s.acknowledged) return false;
  if (dt === "yes" && !inDowntime(c)) return false;
  if (dt === "no" && inDowntime(c)) return false;
  if (flap === "yes" && !s.flapping) return false;
  return matches(c.agent_name, c.name, s.output);
}

function passesState(c, f) {
  const set = f.state;
  if (!set.length) return true;
  return set.includes(rowState(c)) || (set.includes("DOWN") && agentDown(c));
}

const SORTS = {
  state: null,
  check: (a, b) => (a.agent_name + "/" + a.name).localeCompare(b.agent_name + "/" + b.name),
  output: (a, b) => firstLine(a.state && a.state.output).localeCompare(firstLine(b.state && b.state.output)),
  since: (a, b) => (Date.parse(a.state && a.state.since) || 0) - (Date.parse(b.state && b.state.since) || 0),
};

function sortedProblems() {
  const f = filters();
  const base = allRows().filter((c) => passesBase(c, f));
  const list = base.filter((c) => passesState(c, f));
  const since = new Map(list.map((c) => [c.id, Date.parse(c.state && c.state.since) || 0]));
  const by = SORTS[qget("sort")];
  const dir = qget("dir") === "desc" ? -1 : 1;
  list.sort((a, b) => (by ? dir * by(a, b) || a.id - b.id
    : (SEV[rowState(a)] ?? 3) - (SEV[rowState(b)] ?? 3)
    || (a.state && a.state.acknowledged ? 1 : 0) - (b.state && b.state.acknowledged ? 1 : 0)
    || since.get(a.id) - since.get(b.id)
    || a.id - b.id));
  return { list, base };
}

function isWall() { return S.view === "wall"; }

// ?group=agent or ?group=label:KEY; anything else is no grouping
function groupMode() {
  const g = qget("group");
  if (g === "agent") return { by: "agent" };
  if (g.startsWith("label:") && g.length > 6) return { by: "label", key: g.slice(6) };
  return null;
}

// a check's effective value of a label: its own over its agent's API
// labels over the agent's agentd.conf ones (docs/api.md), or undefined
function labelOf(c, key) {
  const own = c.labels || {};
  if (Object.hasOwn(own, key)) return own[key];
  const a = S.agents.get(c.agent_id);
  if (a && a.labels && Object.hasOwn(a.labels, key)) return a.labels[key];
  if (a && a.agent_labels && Object.hasOwn(a.agent_labels, key)) return a.agent_labels[key];
  return undefined;
}

// One pass over the rows already filtered and cut to those shown: each
// row into its group (order within a group kept), the groups worst first
// then by name, a row-less "(no KEY)" group after its equals.
function groupRows(list, g) {
  const groups = new Map();
  for (const c of list) {
    let id, name, none = false;
    if (g.by === "agent") {
      id = "a" + c.agent_id;
      name = str(c.agent_name, "agent " + c.agent_id);
    } else {
      const v = labelOf(c, g.key);
      none = v === undefined;
      id = none ? "-" : "v" + v;
      name = none ? "(no " + g.key + ")" : g.key + "=" + str(v);
    }
    let gr = groups.get(id);
    if (!gr) groups.set(id, gr = { id, name, none, worst: 9, n: {}, rows: [] });
    const st = rowState(c);
    gr.worst = Math.min(gr.worst, SEV[st] ?? 3);
    gr.n[st] = (gr.n[st] || 0) + 1;
    gr.rows.push(c);
  }
  return [...groups.values()].sort((x, y) => x.worst - y.worst || (x.none ? 1 : 0) - (y.none ? 1 : 0)
    || x.name.localeCompare(y.name));
}

// "role=web · 2 CRITICAL, 1 WARNING": the group's rows on screen, worst first
function groupHead(gr, cols) {
  const n = Object.entries(gr.n).sort((x, y) => (SEV[x[0]] ?? 3) - (SEV[y[0]] ?? 3) || x[0].localeCompare(y[0]));
  return h("tr", { class: "group", "data-group": gr.id },
    h("th", { colspan: String(cols), scope: "colgroup" }, gr.name + " · " + n.map(([k, v]) => fmtNum(v) + " " + k).join(", ")));
}

// the label keys the checks and agents carry, for the Group control
function labelKeys() {
  const keys = new Set();
  for (const c of allRows()) for (const k of Object.keys(c.labels || {})) keys.add(k);
  for (const a of S.agents.values()) {
    for (const k of Object.keys(a.labels || {})) keys.add(k);
    for (const k of Object.keys(a.agent_labels || {})) keys.add(k);
  }
  return [...keys].sort();
}

function fillGroupOptions() {
  const sel = $("#f-group");
  if (!sel) return;
  const want = [["", "none"], ["agent", "agent"], ...labelKeys().map((k) => ["label:" + k, "label " + k])];
  const cur = qget("group");
  if (cur && !want.some(([v]) => v === cur)) want.push([cur, cur.startsWith("label:") ? "label " + cur.slice(6) : cur]);
  if (sel.options.length !== want.length || want.some(([v], i) => sel.options[i].value !== v))
    put(sel, want.map(([v, t]) => h("option", { value: v }, t)));
  sel.value = cur;
}

function problemRow(c) {
  const s = c.state || {};
  const end = dtEnd(c);
  const down = agentDown(c);
  const marks = [];
  if (down) marks.push(h("span", { class: "mark mark-down", title: "the agent is DOWN: no current state" },
    "AGENT DOWN · last " + str(s.status, "PENDING")));
  if (s.acknowledged) marks.push(ackMark(s));
  if (s.in_downtime || end) marks.push(h("span", { class: "mark mark-dt",
    title: end ? "in downtime until " + absTime(end) : "in downtime" },
    end ? "DOWNTIME until " + localTime(end) : "DOWNTIME"));
  if (s.flapping) marks.push(h("span", { class: "mark mark-flap" }, "FLAPPING"));
  const may = canAct() && !isWall();
  const st = rowState(c);
  return h("tr", { "data-check-id": c.id, "data-status": st },
    may ? h("td", { class: "pick" }, h("input", { type: "checkbox", class: "pick-one", "aria-label": "select",
      checked: S.selected.has(c.id), onchange: (e) => { if (e.target.checked) S.selected.add(c.id); else S.selected.delete(c.id); renderBulk(); } })) : null,
    h("td", {}, stBadge(st)),
    h("td", {}, h("a", { href: "/checks/" + c.id, "data-nav": true }, str(c.agent_name, "agent " + c.agent_id) + "/" + str(c.name)),
      s.state_type === "SOFT" && !down ? h("span", { class: "muted" }, " (SOFT " + str(s.attempt, "?") + "/" + str(c.max_attempts, "?") + ")") : null),
    h("td", { class: "out hide-s" }, firstLine(s.output)),
    h("td", {}, age(s.since)),
    h("td", { class: "marks" }, marks),
    may ? h("td", { class: "actions" },
      h("button", { type: "button", class: "act-ack", onclick: () => ackDialog([c]) }, "Ack"), " ",
      h("button", { type: "button", class: "act-dt", onclick: () => downtimeDialog({ check: c }) }, "Downtime")) : null);
}

// Into an empty table (the first paint after login or a reload) only the
// first FIRST_ROWS rows go at once - more than a screen holds - and the
// rest after the frame that paints them: 500 rows built at once cost a few
// hundred ms of a loaded phone or VM before anything shows.
const FIRST_ROWS = 60;

function renderProblems(changedId) {
  const tbody = $("#problems tbody");
  if (!tbody) return;
  const { list, base } = sortedProblems();
  const keep = new Map();
  for (const tr of tbody.children) keep.set(Number(tr.dataset.checkId), tr);
  const rows = [];
  let limit = Math.min(list.length, S.problemLimit || 1000);
  if (!tbody.firstChild && limit > FIRST_ROWS) {
    limit = FIRST_ROWS;
    requestAnimationFrame(() => setTimeout(() => renderProblems(), 0));
  }
  const g = groupMode();
  let shownRows = list.slice(0, limit);
  const heads = new Map();
  // the group headers are built afresh (a few); the rows are kept
  for (const tr of tbody.querySelectorAll("tr.group")) tr.remove();
  if (g) {
    const cols = $("#problems thead tr").children.length;
    shownRows = [];
    for (const gr of groupRows(list.slice(0, limit), g)) {
      heads.set(gr.rows[0].id, groupHead(gr, cols));
      shownRows.push(...gr.rows);
    }
  }
  for (const c of shownRows) {
    let tr = keep.get(c.id);
    const key = JSON.stringify([c.state, dtEnd(c), agentDown(c), c.agent_name]);
    if (!tr || tr.dataset.key !== key) {
      const fresh = problemRow(c);
      fresh.dataset.key = key;
      if (tr) tr.replaceWith(fresh);
      tr = fresh;
      if (c.id === changedId) tr.classList.add("flash");
    }
    keep.delete(c.id);
    if (heads.has(c.id)) rows.push(heads.get(c.id));
    rows.push(tr);
  }
  for (const tr of keep.values()) tr.remove();
  if (!tbody.firstChild) {
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
  const empty = $("#problems-empty");
  empty.hidden = list.length > 0;
  empty.textContent = base.length || !S.status ? "No problems match the filters." : "No problems. All is well.";
  const more = $("#problems-more");
  const shown = Math.min(list.length, S.problemLimit || 1000);
  if (more) {
    more.hidden = list.length <= shown;
    more.textContent = "Show " + fmtNum(list.length - shown) + " more";
  }
  if (S.sel >= shownRows.length) S.sel = shownRows.length - 1;
  markSel();
  renderCounts(base);
  renderOkLine();
}

// the header's counts: of the rows the filters leave (the state filter
// aside), so each equals the rows of its state on screen
function renderCounts(base) {
  if (!S.status) return;
  if (!base) { const f = filters(); base = allRows().filter((c) => passesBase(c, f)); }
  const n = { CRITICAL: 0, WARNING: 0, UNKNOWN: 0 };
  let unhandled = 0;
  for (const c of base) {
    const st = rowState(c);
    if (n[st] !== undefined) n[st]++;
    if (!(c.state && c.state.acknowledged) && !inDowntime(c)) unhandled++;
  }
  let down = 0;
  if (S.agentsLoaded) { for (const a of S.agents.values()) if (a.state === "down") down++; } else down = S.status.agents.down;
  const states = qget("state").split(",").filter(Boolean);
  const items = [
    ["CRITICAL", n.CRITICAL, "CRITICAL"], ["WARNING", n.WARNING, "WARNING"],
    ["UNKNOWN", n.UNKNOWN, "UNKNOWN"], ["down", down, "agents DOWN"], ["unacked", unhandled, "unhandled"],
  ];
  const on = (k) => (k === "unacked" ? qget("ack") === "no" && qget("dt") === "no"
    : k === "down" ? states.includes("DOWN") : states.includes(k));
  put($("#counts"), ...items.map(([k, num, label]) => h("a", {
    href: "#", "data-count": k, class: on(k) ? "on" : null, title: "filter: " + label,
    onclick: (e) => {
      e.preventDefault();
      if (!["overview", "wall"].includes(S.view)) {
        nav(k === "unacked" ? "/?ack=no&dt=no" : "/?state=" + (k === "down" ? "DOWN" : k));
        return;
      }
      if (k === "unacked") qset(on(k) ? { ack: "", dt: "" } : { ack: "no", dt: "no" });
      else qset({ state: on(k) ? "" : (k === "down" ? "DOWN" : k) });
      syncFilterControls();
      renderProblems();
      renderAgents();
    },
  }, h("b", {}, fmtNum(num)), " ", label)));
}

function renderOkLine() {
  const okl = $("#okline");
  const st = S.status;
  if (!okl || !st) return;
  let okDown = 0, pendDown = 0;
  for (const c of S.downChecks.values()) {
    if (c.state && c.state.status === "OK") okDown++;
    else if (!c.state || !c.state.status) pendDown++;
  }
  let agents = st.agents.up + st.agents.down + st.agents.new;
  if (S.agentsLoaded) agents = S.agents.size;
  const ok = Math.max(0, st.counts.OK - okDown), pend = Math.max(0, st.counts.PENDING - pendDown);
  okl.textContent = fmtNum(ok) + " checks OK on " + fmtNum(agents) + " agents"
    + (pend ? ", " + fmtNum(pend) + " pending" : "") + (okDown + pendDown ? " (without the DOWN agents' checks)" : "") + " ▸";
}

function renderBulk() {
  const bar = $("#bulk");
  if (!bar) return;
  for (const id of [...S.selected]) if (!S.problems.has(id) && !S.downChecks.has(id)) S.selected.delete(id);
  bar.hidden = S.selected.size === 0;
  $("#bulk-n").textContent = fmtNum(S.selected.size) + " selected";
  const all = $("#pick-all");
  if (all) {
    const boxes = document.querySelectorAll("#problems tbody input.pick-one");
    all.checked = boxes.length > 0 && [...boxes].every((b) => b.checked);
  }
}

function selectedChecks() {
  return [...S.selected].map((id) => S.problems.get(id) || S.downChecks.get(id)).filter(Boolean);
}

function renderAgents() {
  const el = $("#agents");
  if (!el) return;
  const bad = [...S.agents.values()].filter((a) => (a.state === "down" || a.state === "new") && matches(a.name));
  bad.sort((a, b) => (a.state === "down" ? 0 : 1) - (b.state === "down" ? 0 : 1) || a.name.localeCompare(b.name));
  if (!bad.length) { put(el, h("p", { class: "muted" }, S.agentsLoaded ? "Every agent is up." : "…")); return; }
  put(el, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "Agent"),
    h("th", {}, "Since"), h("th", { class: "hide-s" }, "Last checkout"))),
  h("tbody", {}, bad.slice(0, 200).map((a) => h("tr", { "data-agent-id": a.id },
    h("td", {}, agBadge(a.state)),
    h("td", {}, h("a", { href: "/agents/" + a.id, "data-nav": true }, str(a.name))),
    h("td", {}, sinceWords(a)),
    h("td", { class: "hide-s" }, a.last_checkout_at ? age(a.last_checkout_at, "") : "never"))))));
}

// "CRITICAL (soft 2/3) → CRITICAL (hard)": a change of state type says so
function changeWords(e) {
  const type = e.state_type ? " (" + e.state_type.toLowerCase() + (e.state_type === "SOFT" && e.attempt ? " " + e.attempt : "") + ")" : "";
  if (e.prev_status && e.status) {
    if (e.prev_status === e.status && e.state_type === "HARD") return e.prev_status + " (soft) → " + e.status + " (hard)";
    return e.prev_status + " → " + e.status + type;
  }
  return e.status ? e.status + type : "";
}

function eventRow(e) {
  const what = e.check ? str(e.agent) + "/" + str(e.check) : str(e.agent);
  const d = e.detail && typeof e.detail === "object" ? e.detail : null;
  const note = e.kind === "ACKNOWLEDGEMENT" && d
    ? "by " + str(d.by, "?") + (d.comment ? ": “" + str(d.comment) + "”" : "") : firstLine(e.output);
  return h("tr", { "data-event-id": e.id },
    h("td", { class: "age", title: absTime(e.created_at) }, S.view === "overview" ? new Date(e.created_at).toLocaleTimeString() : localTime(e.created_at)),
    h("td", {}, str(e.kind)),
    h("td", {}, e.check_id ? h("a", { href: "/checks/" + e.check_id, "data-nav": true }, what)
      : e.agent_id ? h("a", { href: "/agents/" + e.agent_id, "data-nav": true }, what) : what),
    h("td", { class: "change" }, changeWords(e)),
    h("td", { class: "out hide-s" }, note));
}

function renderEvents() {
  const el = $("#events");
  if (!el) return;
  let list = S.events;
  if (S.view === "events") list = list.filter(eventPasses);
  else list = list.filter((e) => matches(e.agent, e.check, e.kind, e.output));
  if (S.view === "overview") {
    const today = new Date(now()); today.setHours(0, 0, 0, 0);
    list = list.filter((e) => Date.parse(e.created_at) >= today.getTime()).slice(0, 50);
  }
  if (!list.length) { put(el, h("p", { class: "muted" }, "No events.")); return; }
  put(el, h("table", { class: "events" }, h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Kind"),
    h("th", {}, "Agent/check"), h("th", {}, "Change"), h("th", { class: "hide-s" }, "Output"))),
  h("tbody", {}, list.map(eventRow))));
}

async function loadAgents() {
  let all = [], cursor = null;
  for (let i = 0; i < 50; i++) {
    const j = await api("GET", "/api/v1/agents?limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    all = all.concat(j.items);
    if (!j.next) break;
    cursor = j.next;
  }
  S.agents = new Map(all.map((a) => [a.id, a]));
  S.agentsLoaded = true;
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

// the checks of DOWN agents that /status does not list (OK or pending
// ones): they are shown and counted as UNKNOWN, not as OK
async function loadDownChecks() {
  const down = [...S.agents.values()].filter((a) => a.state === "down").slice(0, 100);
  const lists = await Promise.all(down.map((a) =>
    api("GET", "/api/v1/checks?agent_id=" + a.id + "&limit=1000").then((j) => j.items, () => [])));
  const m = new Map();
  for (let i = 0; i < down.length; i++) {
    for (const c of lists[i]) {
      if (!c.enabled || S.problems.has(c.id)) continue;
      c.agent_name = down[i].name;
      m.set(c.id, c);
    }
  }
  S.downChecks = m;
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
  for (const id of [...S.downChecks.keys()]) if (S.problems.has(id)) S.downChecks.delete(id);
  renderProblems();
  const wall = isWall();
  const evp = first && !wall ? api("GET", "/api/v1/events?since_id=" + Math.max(0, st.last_event_id - 200) + "&limit=200") : null;
  const [, dts] = await Promise.all([loadAgents(), loadDowntimes()]);
  S.downtimes = dts;
  await loadDownChecks();
  fillGroupOptions();
  renderProblems();
  renderAgents();
  renderBulk();
  if (evp) {
    const ev = await evp;
    S.events = ev.items.reverse();
    renderEvents();
  }
}

const FILTERS = [
  ["state", "State", [["", "any"], ["CRITICAL", "CRITICAL"], ["WARNING", "WARNING"], ["UNKNOWN", "UNKNOWN"], ["DOWN", "agent DOWN"]]],
  ["ack", "Acknowledged", [["", "any"], ["yes", "yes"], ["no", "no"]]],
  ["dt", "In downtime", [["", "any"], ["yes", "yes"], ["no", "no"]]],
  ["flap", "Flapping", [["", "any"], ["yes", "yes"]]],
];

function syncFilterControls() {
  for (const [k] of FILTERS) {
    const sel = $("#f-" + k);
    if (sel) {
      const v = qget(k);
      if (![...sel.options].some((o) => o.value === v)) sel.append(h("option", { value: v }, v));
      sel.value = v;
    }
  }
  for (const th of document.querySelectorAll("#problems th[data-sort]")) {
    const on = (qget("sort") || "state") === th.dataset.sort;
    th.setAttribute("aria-sort", on ? (qget("dir") === "desc" ? "descending" : "ascending") : "none");
  }
}

function sortHead(key, label, cls) {
  if (isWall()) return h("th", { class: cls || null }, label);
  return h("th", { "data-sort": key, class: cls || null },
    h("button", { type: "button", class: "sort", onclick: () => {
      const cur = qget("sort") || "state";
      if (cur === key) qset({ dir: qget("dir") === "desc" ? "" : "desc" });
      else qset({ sort: key === "state" ? "" : key, dir: "" });
      syncFilterControls();
      renderProblems();
    } }, label));
}

async function renderOverview() {
  const wall = qget("wall") === "1";
  S.view = wall ? "wall" : "overview";
  document.body.classList.toggle("wall", wall);
  S.problemLimit = 1000;
  const may = canAct() && !wall;
  const table = h("table", { id: "problems" }, h("thead", {}, h("tr", {},
    may ? h("th", { class: "pick" }, h("input", { type: "checkbox", id: "pick-all", "aria-label": "select every row shown",
      onchange: (e) => {
        for (const b of document.querySelectorAll("#problems tbody input.pick-one")) {
          b.checked = e.target.checked;
          const id = Number(b.closest("tr").dataset.checkId);
          if (e.target.checked) S.selected.add(id); else S.selected.delete(id);
        }
        renderBulk();
      } })) : null,
    sortHead("state", "State"), sortHead("check", "Agent/check"), sortHead("output", "Output", "hide-s"),
    sortHead("since", "Since"), h("th", {}, "Marks"), may ? h("th", {}, "Actions") : null)), h("tbody", {}));
  const parts = [h("h1", {}, wall ? "Problems" : "Problems")];
  if (!wall) {
    parts.push(h("form", { class: "filters", id: "filters", onsubmit: (e) => e.preventDefault() },
      FILTERS.map(([k, label, opts]) => h("label", {}, label + " ",
        h("select", { id: "f-" + k, onchange: (e) => { qset({ [k]: e.target.value }); renderProblems(); renderAgents(); } },
          opts.map(([v, t]) => h("option", { value: v }, t))))),
      h("label", {}, "Group ",
        h("select", { id: "f-group", onchange: (e) => { qset({ group: e.target.value }); renderProblems(); } },
          h("option", { value: "" }, "none")))));
    if (may) {
      parts.push(h("div", { id: "bulk", class: "bulk", hidden: true },
        h("span", { id: "bulk-n" }, ""), " ",
        h("button", { type: "button", id: "bulk-ack", onclick: () => ackDialog(selectedChecks()) }, "Acknowledge"), " ",
        h("button", { type: "button", id: "bulk-dt", onclick: () => downtimeDialog({ checks: selectedChecks() }) }, "Downtime"), " ",
        h("button", { type: "button", id: "bulk-clear", onclick: () => {
          S.selected.clear();
          for (const b of document.querySelectorAll("#problems input[type=checkbox]")) b.checked = false;
          renderBulk();
        } }, "Clear")));
    }
  }
  parts.push(table,
    h("p", { id: "problems-empty", class: "muted", hidden: true }, ""),
    h("button", { id: "problems-more", type: "button", hidden: true,
      onclick: () => { S.problemLimit += 1000; renderProblems(); } }, ""));
  if (!wall) {
    parts.push(h("h2", {}, "Agents down and new"), h("div", { id: "agents" }),
      h("h2", {}, "Everything else"),
      h("button", { id: "okline", class: "okline", type: "button", onclick: expandOk }, "…"),
      h("div", { id: "oklist" }),
      h("h2", {}, "Today's events"), h("div", { id: "events" }));
  }
  put(main(), ...parts);
  syncFilterControls();
  fillGroupOptions();
  if (S.okOpen && !wall) expandOk().catch(() => {});
  await loadOverviewData(true);
}

async function expandOk() {
  const box = $("#oklist");
  if (box.dataset.open) { delete box.dataset.open; S.okOpen = false; put(box); return; }
  box.dataset.open = "1";
  S.okOpen = true;   // stays open when the overview is drawn again (a stream reset)
  const tbody = h("tbody", {});
  let cursor = null;
  const more = h("button", { type: "button" }, "More");
  async function page() {
    const j = await api("GET", "/api/v1/checks?status=OK&limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    for (const c of j.items) {
      tbody.append(h("tr", {}, h("td", {}, stBadge("OK")),
        h("td", {}, h("a", { href: "/checks/" + c.id, "data-nav": true }, agentName(c.agent_id) + "/" + str(c.name))),
        h("td", { class: "out hide-s" }, firstLine(c.state && c.state.output))));
    }
    cursor = j.next;
    more.hidden = !cursor;
  }
  more.addEventListener("click", page);
  put(box, h("table", {}, tbody), more);
  await page();
}

// ---- hosts -------------------------------------------------------------------------

const HOST_COLS = [
  ["name", "Agent"], ["state", "State"], ["worst", "Worst check"], ["CRITICAL", "Crit"], ["WARNING", "Warn"],
  ["UNKNOWN", "Unkn"], ["OK", "OK"], ["since", "Up / down since"], ["avail", "Avail. 7 d"], ["checkout", "Last checkout"],
];
const WORST = ["CRITICAL", "UNKNOWN", "WARNING", "PENDING", "OK"];

// the problems' counts per agent come with /status and are drawn at once;
// the OK counts need every check (paged, 1,000 at a time) and follow
async function loadHosts() {
  const [st] = await Promise.all([api("GET", "/api/v1/status"), loadAgents(), loadAgentSince()]);
  S.status = st;
  S.problems = new Map(st.problems.map((c) => [c.id, c]));
  renderCounts();
  const zero = () => new Map([...S.agents.keys()].map((id) => [id, { CRITICAL: 0, WARNING: 0, UNKNOWN: 0, OK: 0, PENDING: 0 }]));
  const quick = zero();
  for (const c of st.problems) {
    const p = quick.get(c.agent_id);
    if (p && c.state && p[c.state.status] !== undefined) p[c.state.status]++;
  }
  if (!S.hostCounts || !S.hostOkKnown) { S.hostCounts = quick; S.hostOkKnown = false; renderHosts(); }
  const per = zero();
  let cursor = null;
  for (let i = 0; i < 100; i++) {
    const j = await api("GET", "/api/v1/checks?limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    for (const c of j.items) {
      const p = per.get(c.agent_id);
      if (!p || !c.enabled) continue;
      p[(c.state && c.state.status) || "PENDING"]++;
    }
    if (!j.next) break;
    cursor = j.next;
  }
  if (S.view !== "hosts") return;
  S.hostCounts = per;
  S.hostOkKnown = true;
  renderHosts();
}

function hostRows() {
  const rows = [...S.agents.values()].filter((a) => matches(a.name)).map((a) => {
    const n = S.hostCounts.get(a.id) || {};
    const worst = a.state === "down" ? "UNKNOWN" : WORST.find((w) => n[w] > 0) || (S.hostOkKnown ? "PENDING" : "OK");
    return { a, n, worst };
  });
  const stWant = qget("hstate");
  const list = stWant ? rows.filter((r) => r.a.state === stWant) : rows;
  const key = qget("hsort") || "worst";
  const dir = qget("hdir") === "desc" ? -1 : 1;
  const val = (r) => {
    switch (key) {
    case "name": return str(r.a.name);
    case "state": return ["down", "new", "up"].indexOf(r.a.state);
    // DOWN agents first, then by their worst check, the most CRITICAL first
    case "worst": return (r.a.state === "down" ? -1 : WORST.indexOf(r.worst)) * 1e6 - (r.n.CRITICAL || 0);
    case "since": return Date.parse(agentSince(r.a)) || 0;
    case "avail": return r.a.availability && typeof r.a.availability["7d"] === "number" ? r.a.availability["7d"] : 2;
    case "checkout": return Date.parse(r.a.last_checkout_at) || 0;
    default: return -(r.n[key] || 0);
    }
  };
  list.sort((x, y) => {
    const a = val(x), b = val(y);
    return dir * (typeof a === "string" ? a.localeCompare(b) : a - b) || str(x.a.name).localeCompare(str(y.a.name));
  });
  return list;
}

function renderHosts() {
  const box = $("#hosts");
  if (!box || !S.hostCounts) return;
  const list = hostRows();
  const limit = S.hostLimit || 500;
  const cur = qget("hsort") || "worst";
  const may = canAct();
  const thead = h("tr", {}, HOST_COLS.map(([k, label]) => h("th", { "data-sort": k,
    "aria-sort": cur === k ? (qget("hdir") === "desc" ? "descending" : "ascending") : "none",
    class: ["UNKNOWN", "OK", "avail", "checkout"].includes(k) ? "hide-s" : null },
  h("button", { type: "button", class: "sort", onclick: () => {
    if (cur === k) qset({ hdir: qget("hdir") === "desc" ? "" : "desc" }); else qset({ hsort: k === "worst" ? "" : k, hdir: "" });
    renderHosts();
  } }, label))), may ? h("th", {}, "") : null);
  put(box, h("table", { id: "hosts-table" }, h("thead", {}, thead),
    h("tbody", {}, list.slice(0, limit).map(({ a, n, worst }) => h("tr", { "data-agent-id": a.id, "data-worst": worst },
      h("td", {}, h("a", { href: "/agents/" + a.id, "data-nav": true }, str(a.name))),
      h("td", {}, agBadge(a.state)),
      h("td", {}, stBadge(worst)),
      h("td", { class: "num" }, fmtNum(n.CRITICAL)), h("td", { class: "num" }, fmtNum(n.WARNING)),
      h("td", { class: "num hide-s" }, fmtNum(n.UNKNOWN)), h("td", { class: "num hide-s" }, S.hostOkKnown ? fmtNum(n.OK) : "…"),
      h("td", {}, sinceWords(a)),
      h("td", { class: "num hide-s" }, pct(a.availability && a.availability["7d"])),
      h("td", { class: "hide-s" }, a.last_checkout_at ? age(a.last_checkout_at, "") : "never"),
      may ? h("td", {}, h("button", { type: "button", class: "act-host-dt", title: "a downtime for every check of " + str(a.name),
        onclick: () => downtimeDialog({ agent: a }) }, "Mute")) : null)))),
  list.length > limit ? h("button", { type: "button", onclick: () => { S.hostLimit = limit + 500; renderHosts(); } },
    "Show " + fmtNum(list.length - limit) + " more") : null);
  $("#hosts-n").textContent = fmtNum(list.length) + " agents";
}

async function renderHostsView() {
  S.view = "hosts";
  S.hostCounts = null;
  S.hostOkKnown = false;
  S.hostLimit = 500;
  const sel = h("select", { id: "f-hstate", onchange: (e) => { qset({ hstate: e.target.value }); renderHosts(); } },
    [["", "any"], ["up", "up"], ["down", "DOWN"], ["new", "new"]].map(([v, t]) => h("option", { value: v }, t)));
  sel.value = qget("hstate");
  put(main(), h("h1", {}, "Hosts"), h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
    h("label", {}, "State ", sel), " ", h("span", { id: "hosts-n", class: "muted" }, "")), h("div", { id: "hosts" }, "…"));
  await loadHosts();
}

// ---- dialogs: acknowledge, downtime ---------------------------------------------------

function dialog(title, body, onOk) {
  const dlg = $("#dlg");
  $("#dlg-title").textContent = title;
  put($("#dlg-body"), ...body);
  $("#dlg-error").textContent = "";
  const form = $("#dlg-form");
  form.onsubmit = async (e) => {
    e.preventDefault();
    $("#dlg-error").textContent = "";
    $("#dlg-ok").disabled = true;
    try {
      await onOk();
      dlg.close();
    } catch (x) {
      $("#dlg-error").textContent = x.message;   // the API's own message
    } finally {
      $("#dlg-ok").disabled = false;
    }
  };
  $("#dlg-cancel").onclick = () => dlg.close();
  dlg.showModal();
  const f = $("#dlg-body input, #dlg-body select, #dlg-body textarea");
  if (f) f.focus();
}

// runs fn over items, a few at a time; throws one error naming each failure
async function each(items, fn, label) {
  const errs = [];
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const it = items[i++];
      try { await fn(it); } catch (x) { errs.push(label(it) + ": " + x.message); }
    }
  };
  await Promise.all([1, 2, 3, 4].map(worker));
  if (errs.length) throw new Error(errs.length + " of " + items.length + " failed: " + errs.slice(0, 5).join("; "));
}

const DURATIONS = [["", "no expiry"], ["1", "1 h"], ["2", "2 h"], ["4", "4 h"], ["8", "8 h"], ["24", "1 day"], ["168", "1 week"]];
const cname = (c) => str(c.agent_name, "agent " + c.agent_id) + "/" + str(c.name);

function ackDialog(list) {
  if (!list.length) return;
  const comment = h("input", { id: "ack-comment", required: true, maxlength: 1000, placeholder: "who looks at it, what is known" });
  const exp = h("select", { id: "ack-expires" }, DURATIONS.map(([v, t]) => h("option", { value: v }, t)));
  dialog("Acknowledge " + (list.length === 1 ? cname(list[0]) : fmtNum(list.length) + " problems"), [
    h("label", {}, "Comment", comment), h("label", {}, "Expires after", exp)], async () => {
    const body = { comment: comment.value };
    if (exp.value) body.expires_at = new Date(now() + Number(exp.value) * 3600e3).toISOString();
    await each(list, (c) => api("POST", "/api/v1/checks/" + c.id + "/ack", body), cname);
    for (const c of list) S.selected.delete(c.id);
    renderBulk();
    for (const b of document.querySelectorAll("#problems input[type=checkbox]")) b.checked = S.selected.has(Number(b.closest("tr") && b.closest("tr").dataset.checkId));
  });
}

function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

// a downtime for one check (or its agent), for an agent, or for many checks
function downtimeDialog({ check, agent, checks }) {
  const name = check ? cname(check) : agent ? str(agent.name) : fmtNum(checks.length) + " checks";
  const scope = check ? h("select", { id: "dt-scope" },
    h("option", { value: "check" }, "this check"), h("option", { value: "agent" }, "the whole agent " + str(check.agent_name))) : null;
  const forSel = h("select", { id: "dt-for" }, DURATIONS.slice(1).map(([v, t]) => h("option", { value: v, selected: v === "2" }, t)),
    h("option", { value: "custom" }, "from … to …"));
  const start = h("input", { id: "dt-start", type: "datetime-local", value: localInput(now()) });
  const end = h("input", { id: "dt-end", type: "datetime-local", value: localInput(now() + 2 * 3600e3) });
  const custom = h("div", { hidden: true }, h("label", {}, "Start (local time)", start), h("label", {}, "End (local time)", end));
  forSel.addEventListener("change", () => { custom.hidden = forSel.value !== "custom"; });
  const comment = h("input", { id: "dt-comment", maxlength: 1000, placeholder: "why" });
  dialog("Downtime for " + name, [scope ? h("label", {}, "For", scope) : null,
    h("label", {}, "Duration", forSel), custom, h("label", {}, "Comment", comment)], async () => {
    const [s, e] = dtWindow(forSel.value, start.value, end.value);
    const base = { start: s.toISOString(), end: e.toISOString(), comment: comment.value };
    if (checks) {
      await each(checks, (c) => api("POST", "/api/v1/downtimes", { ...base, check_id: c.id }), cname);
    } else if (check && (!scope || scope.value === "check")) {
      await api("POST", "/api/v1/downtimes", { ...base, check_id: check.id });
    } else {
      await api("POST", "/api/v1/downtimes", { ...base, agent_id: check ? check.agent_id : agent.id });
    }
    if (S.view === "downtimes") await loadDowntimeList();
    else scheduleRefresh();
  });
}

function dtWindow(forVal, startVal, endVal) {
  let s, e;
  if (forVal === "custom") { s = new Date(startVal); e = new Date(endVal); }
  else { s = new Date(now()); e = new Date(now() + Number(forVal) * 3600e3); }
  if (isNaN(s) || isNaN(e)) throw new Error("give a start and an end");
  if (!(e > s)) throw new Error("the end must be after the start");
  return [s, e];
}

// ---- check page -------------------------------------------------------------------------

// "value 91, warning outside 85, critical outside 95", in words
function thresholdWords(c, v) {
  const parts = [];
  if (typeof v === "number") parts.push("value " + fmtValue(v));
  const words = (r) => {
    if (!r) return null;
    const inside = r.startsWith("@");
    const s = inside ? r.slice(1) : r;
    const [a, b] = s.includes(":") ? s.split(":") : ["0", s];
    const lo = a === "~" || a === "" ? null : a, hi = b === "" || b === undefined ? null : b;
    if (inside) return "inside " + (lo ?? "−∞") + "…" + (hi ?? "∞");
    if (lo !== null && hi !== null && lo !== "0") return "outside " + lo + "…" + hi;
    if (hi !== null && (lo === null || lo === "0")) return "above " + hi;
    if (lo !== null) return "below " + lo;
    return r;
  };
  if (c.warning) parts.push("warning " + words(c.warning));
  if (c.critical) parts.push("critical " + words(c.critical));
  return parts.join(", ");
}

// The ACK mark says who: "ACK alice", titled "acknowledged by alice" (and
// the comment, where the check page knows it from the event)
function ackMark(s, info, id) {
  const by = s.ack_by || (info && info.by) || "";
  const comment = info && info.comment ? ": " + info.comment : "";
  const m = h("span", { class: "mark mark-ack", title: by ? "acknowledged by " + by + comment : "acknowledged" + comment },
    by ? "ACK by " + by : "ACK");
  if (id) m.id = id;
  return m;
}

// A check's params as "url http://***@host/, timeout_ms 5000": what the
// API answered (for an operator or a viewer a URL's user:password@ is
// "***@" there already)
function paramsLine(p) {
  if (!p || typeof p !== "object") return "—";
  return Object.entries(p).map(([k, v]) => k + " " + (typeof v === "string" ? v : JSON.stringify(v))).join(", ") || "—";
}

// The chart's ranges: each asks the summary API for buckets the API keeps
// (minute buckets for 2 days, hour buckets for 400): at most 360 points.
const RANGES = {
  "1h": { by: "minute", ms: 3600e3, step: 60e3 },
  "6h": { by: "minute", ms: 6 * 3600e3, step: 60e3 },
  "24h": { by: "hour", ms: 86400e3, step: 3600e3 },
  "7d": { by: "hour", ms: 7 * 86400e3, step: 3600e3 },
  "30d": { by: "day", ms: 30 * 86400e3, step: 86400e3 },
};

function byFor(span) {
  if (span <= 6 * 3600e3) return ["minute", 60e3];
  if (span <= 14 * 86400e3) return ["hour", 3600e3];
  return ["day", 86400e3];
}

// the range chosen is kept in the URL (?range=), as the overview's filters are
function keepRange(k) {
  const q = new URLSearchParams(location.search);
  if (k === "24h") q.delete("range"); else q.set("range", k);
  const qs = q.toString();
  history.replaceState(history.state, "", location.pathname + (qs ? "?" + qs : ""));
}

async function loadChart(c, key, zoom) {
  S.chartRange = key;
  let t0, t1, by, step;
  if (zoom) {
    [t0, t1] = zoom;
    [by, step] = byFor(t1 - t0);
  } else {
    const r = RANGES[key];
    t1 = now(); t0 = t1 - r.ms; by = r.by; step = r.step;
  }
  const token = S.chartToken = {};
  const j = await api("GET", "/api/v1/checks/" + c.id + "/summary?by=" + by
    + "&since=" + encodeURIComponent(new Date(t0).toISOString())
    + "&until=" + encodeURIComponent(new Date(t1).toISOString()));
  if (S.view !== "check" || S.viewId !== c.id || S.chartToken !== token) return;
  $("#chart-title").textContent = zoom ? "Value, " + fmtLocal(t0) + " – " + fmtLocal(t1) : "Value, last " + key;
  for (const b of document.querySelectorAll("#chart-ranges button[data-range]")) {
    b.setAttribute("aria-pressed", String(!zoom && b.dataset.range === key));
  }
  $("#chart-unzoom").hidden = !zoom;
  const box = $("#check-chart");
  const svgEl = drawChart(box, j.items, { t0, t1, step, warning: c.warning, critical: c.critical, marks: S.btMarks,
    onZoom: (a, b) => loadChart(c, key, [a, b]).catch((x) => { box.textContent = x.message; }) });
  svgEl.dataset.by = by;
}

function availability(av) {
  const a = av || {};
  return h("span", { class: "avail" }, ["24h", "7d", "30d"].map((k) =>
    h("span", { class: "av", "data-range": k }, h("b", {}, pct(a[k])), " " + k.replace("h", " h").replace("d", " d") + " ")));
}

function renderCheckState(c) {
  const el = $("#check-state");
  if (!el) return;
  S.check = c;
  const s = c.state || {};
  const end = dtEnd(c);
  const may = canAct();
  const ack = s.acknowledged && S.ackInfo ? S.ackInfo : null;
  put(el, 
    h("p", { class: "state-line" }, stBadge(s.status), " ",
      s.state_type ? s.state_type + (s.state_type === "SOFT" ? " attempt " + str(s.attempt, "?") + "/" + str(c.max_attempts, "?") : "") + " " : "",
      s.since ? age(s.since, "since ") : "", " ",
      s.acknowledged ? ackMark(s, ack, "mark-ack") : null,
      s.in_downtime || end ? h("span", { class: "mark mark-dt", id: "mark-dt" }, end ? "DOWNTIME until " + localTime(end) : "DOWNTIME") : null,
      s.flapping ? h("span", { class: "mark mark-flap" }, "FLAPPING " + Math.round(s.flap_pct || 0) + " %") : null,
      c.agent_state === "down" || agentDown(c) ? h("span", { class: "mark mark-down" }, "AGENT DOWN: this state is its last") : null,
      c.enabled ? null : h("span", { class: "mark" }, "DISABLED")),
    h("dl", { class: "grid" },
      h("dt", {}, "Agent"), h("dd", {}, h("a", { href: "/agents/" + c.agent_id, "data-nav": true }, str(c.agent_name, "agent " + c.agent_id))),
      h("dt", {}, "Type"), h("dd", {}, str(c.type)),
      h("dt", {}, "Last result"), h("dd", {}, s.last_result_at ? [age(s.last_result_at, ""), " ago"] : "never"),
      h("dt", {}, "Value"), h("dd", {}, thresholdWords(c, s.value) || "—"),
      h("dt", {}, "Parameters"), h("dd", { id: "check-params" }, paramsLine(c.params)),
      h("dt", {}, "Thresholds"), h("dd", { id: "check-thresholds" }, thresholdLine(c)),
      h("dt", {}, "Availability"), h("dd", { id: "check-avail" }, availability(c.availability))),
    ack ? h("p", { id: "ack-info" }, "Acknowledged by " + str(ack.by, "?")
      + (ack.comment ? ": “" + str(ack.comment) + "”" : "")
      + (ack.expires_at ? " (until " + localTime(ack.expires_at) + ")" : "")) : null,
    h("pre", { class: "out", id: "check-output" }, str(s.output)),
    may ? h("p", { class: "actions" },
      s.acknowledged ? h("button", { type: "button", id: "act-unack", onclick: () => act(() => api("DELETE", "/api/v1/checks/" + c.id + "/ack")) }, "Remove acknowledgement")
        : h("button", { type: "button", id: "act-ack", onclick: () => ackDialog([c]), disabled: s.status === "OK" || !s.status }, "Acknowledge"), " ",
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
  c.agent_state = agent.state;
  S.agents.set(agent.id, agent);
  S.downtimes = dts;
  $("#check-title").textContent = str(agent.name) + "/" + str(c.name);
  document.title = str(agent.name) + "/" + str(c.name) + " - custos";
  renderCheckState(c);
  return c;
}

async function renderCheckPage(id) {
  S.view = "check";
  S.viewId = id;
  S.events = [];
  S.ackInfo = null;
  S.btMarks = null;
  S.btToken = null;
  // ?range=30d opens the page at that range (a bookmark, a wall screen)
  const range0 = RANGES[qget("range")] ? qget("range") : "24h";
  put(main(), h("h1", { id: "check-title" }, "check " + id), h("div", { id: "check-state" }),
    h("section", { id: "thr-editor", hidden: true }),
    h("h2", { id: "chart-title" }, "Value, last " + range0),
    h("p", { id: "chart-ranges", class: "ranges" }, Object.keys(RANGES).map((k) =>
      h("button", { type: "button", "data-range": k, "aria-pressed": String(k === range0),
        onclick: () => { if (S.check) { keepRange(k); loadChart(S.check, k).catch((x) => { $("#check-chart").textContent = x.message; }); } } }, k)),
    " ", h("button", { type: "button", id: "chart-unzoom", hidden: true,
      onclick: () => { if (S.check) loadChart(S.check, S.chartRange).catch(() => {}); } }, "Reset zoom"),
    h("span", { class: "muted hint" }, " drag across the chart to zoom")),
    h("div", { id: "check-chart", class: "chart-box" }),
    h("h2", {}, "Last 50 results"), h("div", { id: "check-history" }),
    h("h2", {}, "Notifications"), h("div", { id: "check-notifications" }),
    h("h2", {}, "Events"), h("div", { id: "events" }));
  let c;
  try {
    c = await loadCheck(id);
  } catch (x) {
    put(main(), h("h1", {}, "check " + id), h("p", { class: "error" }, x.message));
    return;
  }
  if (isAdmin()) thresholdEditor(c);
  const [hist, notes, evs] = await Promise.all([
    api("GET", "/api/v1/checks/" + id + "/history?limit=50"),
    api("GET", "/api/v1/notifications?check_id=" + id + "&limit=50"),
    api("GET", "/api/v1/events?check_id=" + id + "&limit=1000"),
    loadChart(c, range0).catch((x) => { $("#check-chart").textContent = x.message; })]);
  put($("#check-history"), hist.items.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "Observed"),
    h("th", {}, "Value"), h("th", { class: "hide-s" }, "Output"))),
  h("tbody", {}, hist.items.map((i) => h("tr", {}, h("td", {}, stBadge(i.status)),
    h("td", { title: absTime(i.observed_at) }, localTime(i.observed_at)),
    h("td", {}, typeof i.value === "number" ? fmtValue(i.value) : "—"), h("td", { class: "out hide-s" }, firstLine(i.output))))))
    : h("p", { class: "muted" }, "No results yet."));
  put($("#check-notifications"), notes.items.length ? h("table", {}, h("thead", {}, h("tr", {},
    h("th", {}, "Time"), h("th", {}, "Kind"), h("th", {}, "Channel"), h("th", { class: "hide-s" }, "Contact"), h("th", {}, "Status"), h("th", { class: "hide-s" }, "Attempts"))),
  h("tbody", {}, notes.items.map((n) => h("tr", {}, h("td", { title: absTime(n.created_at) }, localTime(n.created_at)),
    h("td", {}, str(n.kind)), h("td", {}, str(n.channel)), h("td", { class: "hide-s" }, str(n.contact, "—")),
    h("td", {}, str(n.status) + (n.last_error ? ": " + str(n.last_error) : "")),
    h("td", { class: "hide-s" }, str(n.attempts, "0")))))) : h("p", { class: "muted" }, "None sent."));
  S.events = evs.items.reverse().slice(0, 50);
  const ack = S.events.find((e) => e.kind === "ACKNOWLEDGEMENT");
  S.ackInfo = ack ? ack.detail : null;
  renderCheckState(S.check);
  renderEvents();
}

// ---- threshold backtest (admin) ------------------------------------------------------------
//
// Before a threshold is saved, the editor replays the check's stored results
// under it (POST /api/v1/checks/{id}/backtest, which changes nothing) and
// says what it would have cost: "with warning 80: 14 pages in 30 days
// instead of 3", with the HARD problems, recoveries and flaps of both
// settings. Save PATCHes the check. The editor is drawn once per page, not by
// renderCheckState, so a live update of the check never wipes what is being
// typed. An empty range field means no range (null).

const BT_WINDOWS = { "24h": "24 hours", "7d": "7 days", "30d": "30 days" };
const BT_FIELDS = { warning: "thr-warning", critical: "thr-critical", max_attempts: "thr-max", since: "thr-since" };
const BT_ROWS = [["notifications", "pages (notifications)"], ["hard_problems", "HARD problems"],
  ["recoveries", "recoveries"], ["flaps", "flaps"]];

const plural = (n, one, many) => fmtNum(n) + " " + (n === 1 ? one : many);
const rangeText = (r) => (r === null || r === undefined || r === "" ? "none" : String(r));

// "warning ~:85 · critical ~:95 · max attempts 3": the settings as stored
function thresholdLine(c) {
  return "warning " + rangeText(c.warning) + " · critical " + rangeText(c.critical)
    + " · max attempts " + str(c.max_attempts, "—");
}

function thresholdEditor(c) {
  const sec = $("#thr-editor");
  if (!sec) return;
  const field = (label, id, input) => h("label", { class: "thr-field", for: id }, label, " ", input,
    h("span", { class: "error", id: id + "-error", role: "alert" }));
  put(sec, h("h2", {}, "Thresholds"),
    h("form", { id: "thr-form", class: "thr-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); tryThresholds(); } },
      field("Warning", "thr-warning", h("input", { id: "thr-warning", autocomplete: "off", size: 10, placeholder: "none" })),
      field("Critical", "thr-critical", h("input", { id: "thr-critical", autocomplete: "off", size: 10, placeholder: "none" })),
      field("Max attempts", "thr-max", h("input", { id: "thr-max", type: "number", min: 1, max: 100, step: 1, inputmode: "numeric" })),
      field("Window", "thr-since", h("select", { id: "thr-since" }, Object.keys(BT_WINDOWS).map((k) =>
        h("option", { value: k, selected: k === "30d" }, k.replace("h", " h").replace("d", " d"))))),
      h("span", { class: "thr-buttons" },
        h("button", { type: "submit", id: "thr-try" }, "Try"), " ",
        h("button", { type: "button", id: "thr-save", onclick: () => saveThresholds() }, "Save")),
      h("span", { class: "error", id: "thr-error", role: "alert" })),
    h("p", { class: "muted hint" }, "Try replays this check's stored results under the values above and "
      + "compares them with the current ones; nothing changes until Save. An empty range is no range."),
    h("div", { id: "bt-result", "aria-live": "polite" }));
  fillThresholds(c);
  sec.hidden = false;
}

function fillThresholds(c) {
  $("#thr-warning").value = str(c.warning);
  $("#thr-critical").value = str(c.critical);
  $("#thr-max").value = str(c.max_attempts);
}

function clearThresholdErrors() {
  for (const id of [...Object.values(BT_FIELDS), "thr"]) {
    const el = $("#" + id + "-error");
    if (el) el.textContent = "";
  }
}

// the API's error next to the field it names (the form's own line otherwise)
function thresholdError(x) {
  const id = BT_FIELDS[x.field];
  ((id && $("#" + id + "-error")) || $("#thr-error")).textContent = x.message;
}

// the editor's values as the API takes them: "" is no range (null)
function thresholdBody() {
  const w = $("#thr-warning").value.trim(), cr = $("#thr-critical").value.trim();
  const m = $("#thr-max").value.trim();
  if (!/^[0-9]+$/.test(m)) throw new ApiError(0, "a whole number from 1 to 100", "max_attempts");
  return { warning: w === "" ? null : w, critical: cr === "" ? null : cr, max_attempts: Number(m) };
}

// "with warning 80, max attempts 2": what differs from the current settings
function proposalWords(p, cur) {
  const parts = [];
  if (p.warning !== cur.warning) parts.push("warning " + rangeText(p.warning));
  if (p.critical !== cur.critical) parts.push("critical " + rangeText(p.critical));
  if (p.max_attempts !== cur.max_attempts) parts.push("max attempts " + str(p.max_attempts));
  return parts.length ? "with " + parts.join(", ") : "with the current thresholds";
}

async function tryThresholds() {
  const c = S.check;
  if (!c) return;
  clearThresholdErrors();
  let body;
  try { body = thresholdBody(); } catch (x) { thresholdError(x); return; }
  const since = $("#thr-since").value;
  const token = S.btToken = {};
  const btn = $("#thr-try");
  btn.disabled = true;
  put($("#bt-result"), h("p", { class: "muted" }, "Replaying the stored results…"));
  try {
    const j = await api("POST", "/api/v1/checks/" + c.id + "/backtest", { ...body, since });
    if (S.btToken !== token || S.view !== "check" || S.viewId !== c.id) return;
    renderBacktest(j, since);
    // the proposed HARD changes on the chart, over the same window
    S.btMarks = (j.changes || []).map((ch) => ({ t: Date.parse(ch.at), kind: str(ch.kind), status: str(ch.status),
      label: str(ch.kind) + " " + str(ch.status) + (ch.notified ? "" : " (not notified: flapping)") }))
      .filter((m) => Number.isFinite(m.t));
    await loadChart(S.check, since).catch((x) => { $("#check-chart").textContent = x.message; });
  } catch (x) {
    if (S.btToken !== token) return;
    put($("#bt-result"));
    thresholdError(x);
  } finally {
    btn.disabled = false;
  }
}

function renderBacktest(j, since) {
  const p = j.proposed || {}, cur = j.current || {};
  const n = (side, k) => (typeof side[k] === "number" ? side[k] : 0);
  const changes = Array.isArray(j.changes) ? j.changes : [];
  put($("#bt-result"),
    h("p", { id: "bt-sentence", class: "bt-sentence", "data-proposed": n(p, "notifications"), "data-current": n(cur, "notifications") },
      proposalWords(p, cur) + ": " + plural(n(p, "notifications"), "page", "pages") + " in " + BT_WINDOWS[since]
      + " instead of " + fmtNum(n(cur, "notifications"))),
    h("table", { id: "bt-table", class: "bt-table" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", { class: "num" }, "proposed"), h("th", { class: "num" }, "current"))),
      h("tbody", {}, BT_ROWS.map(([k, label]) => h("tr", { "data-key": k }, h("th", { scope: "row" }, label),
        h("td", { class: "num", "data-side": "proposed" }, fmtNum(n(p, k))),
        h("td", { class: "num", "data-side": "current" }, fmtNum(n(cur, k))))))),
    h("p", { class: "muted", id: "bt-window" }, plural(typeof j.results === "number" ? j.results : 0, "result", "results")
      + " replayed, " + localTime(j.since) + " – " + localTime(j.until)
      + ". Downtimes, acknowledgements and re-notifications are not counted."),
    changes.length ? h("details", { id: "bt-changes" },
      h("summary", {}, (changes.length >= 100 ? "The first 100" : "The " + plural(changes.length, "HARD change", "HARD changes"))
        + " under the proposed thresholds (marked on the chart)"),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Change"), h("th", {}, "Notified"))),
        h("tbody", {}, changes.map((ch) => h("tr", {},
          h("td", { title: absTime(ch.at) }, localTime(ch.at)),
          h("td", {}, str(ch.kind) + " ", stBadge(ch.status)),
          h("td", {}, ch.notified ? "yes" : "no (flapping)")))))) : null);
}

async function saveThresholds() {
  const c = S.check;
  if (!c) return;
  clearThresholdErrors();
  let body;
  try { body = thresholdBody(); } catch (x) { thresholdError(x); return; }
  const btn = $("#thr-save");
  btn.disabled = true;
  try {
    await api("PATCH", "/api/v1/checks/" + c.id, body);
    const fresh = await loadCheck(c.id);
    fillThresholds(fresh);
    put($("#bt-result"), h("p", { id: "thr-saved" }, "Saved: " + thresholdLine(fresh) + "."));
    S.btMarks = null;
    await loadChart(fresh, S.chartRange || "24h").catch((x) => { $("#check-chart").textContent = x.message; });
  } catch (x) {
    thresholdError(x);
  } finally {
    btn.disabled = false;
  }
}

// ---- agent page ------------------------------------------------------------------------

function fmtBytes(n) {
  if (typeof n !== "number") return str(n);
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + u[i];
}

// a fact's value as text: lists joined, objects as "key: value" lines
function factText(k, v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number" && /bytes$/.test(k)) return fmtBytes(v);
  if (Array.isArray(v)) return v.map((x) => factText("", x)).join(", ");
  if (typeof v === "object") return Object.entries(v).map(([a, b]) => a + ": " + factText(a, b)).join("\n");
  return String(v);
}

function factsChanges(items) {
  // items newest first; each change against the one before it
  const out = [];
  for (let i = 0; i < items.length; i++) {
    const cur = items[i].facts || {}, prev = (items[i + 1] && items[i + 1].facts) || null;
    const keys = prev ? [...new Set([...Object.keys(cur), ...Object.keys(prev)])]
      .filter((k) => JSON.stringify(cur[k]) !== JSON.stringify(prev[k])) : ["first report"];
    out.push([items[i].changed_at, keys]);
  }
  return out;
}

async function renderAgentPage(id, refresh) {
  if (!refresh) {
    S.view = "agent";
    S.viewId = id;
    put(main(), h("h1", { id: "agent-title" }, "agent " + id), h("div", { id: "agent-state" }),
      h("h2", {}, "Checks"), h("div", { id: "agent-checks" }), h("h2", {}, "Facts"), h("div", { id: "agent-facts" }),
      h("h2", {}, "Downtimes"), h("div", { id: "agent-downtimes" }));
  }
  let a;
  try { a = await api("GET", "/api/v1/agents/" + id); } catch (x) {
    put(main(), h("h1", {}, "agent " + id), h("p", { class: "error" }, x.message));
    return;
  }
  S.agents.set(a.id, a);
  const [checks, dts, fh] = await Promise.all([api("GET", "/api/v1/checks?agent_id=" + id + "&limit=1000"),
    api("GET", "/api/v1/downtimes?agent_id=" + id + "&limit=100"),
    api("GET", "/api/v1/agents/" + id + "/facts").catch(() => ({ items: [] })),
    loadAgentSince(id).catch(() => {})]);
  if (S.view !== "agent" || S.viewId !== id) return;
  const down = a.state === "down";
  $("#agent-title").textContent = str(a.name);
  document.title = str(a.name) + " - custos";
  put($("#agent-state"), h("p", {}, agBadge(a.state), " ",
    sinceWords(a)),
  h("dl", { class: "grid" },
    h("dt", {}, "Last checkout"), h("dd", {}, a.last_checkout_at ? [age(a.last_checkout_at, ""), " ago"] : "never"),
    h("dt", {}, "Next checkout by"), h("dd", {}, localTime(a.next_checkout_by)),
    h("dt", {}, "Version"), h("dd", {}, str(a.version, "—")),
    h("dt", {}, "Interval"), h("dd", {}, str(a.interval_s, "?") + " s"),
    typeof a.clock_skew_s === "number" && a.clock_skew_s ? [h("dt", {}, "Clock skew"), h("dd", {}, a.clock_skew_s + " s")] : null,
    h("dt", {}, "Availability"), h("dd", { id: "agent-avail" }, availability(a.availability))),
  canAct() ? h("p", { class: "actions" }, h("button", { type: "button", id: "act-agent-dt",
    onclick: () => downtimeDialog({ agent: a }) }, "Downtime for the agent")) : null);
  put($("#agent-checks"), h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "Check"),
    h("th", {}, "Since"), h("th", { class: "hide-s" }, "Avail. 7 d"), h("th", { class: "hide-s" }, "Output"))),
  h("tbody", {}, checks.items.map((c) => {
    const st = c.state && c.state.status;
    return h("tr", { "data-check-id": c.id, "data-status": down ? "UNKNOWN" : st || "PENDING" },
      h("td", {}, stBadge(down ? "UNKNOWN" : st), down ? h("span", { class: "mark mark-down" }, "AGENT DOWN · last " + str(st, "PENDING")) : null),
      h("td", {}, h("a", { href: "/checks/" + c.id, "data-nav": true }, str(c.name)), c.enabled ? "" : " (disabled)"),
      h("td", {}, c.state && c.state.since ? age(c.state.since, "") : "—"),
      h("td", { class: "hide-s" }, pct(c.availability && c.availability["7d"])),
      h("td", { class: "out hide-s" }, firstLine(c.state && c.state.output)));
  }))));
  const facts = a.facts && typeof a.facts === "object" ? a.facts : {};
  const changes = factsChanges(fh.items || []).slice(0, 20);
  put($("#agent-facts"), Object.keys(facts).length ? h("dl", { class: "grid facts" }, Object.entries(facts).map(([k, v]) =>
    [h("dt", {}, k), h("dd", { class: "out" }, factText(k, v))])) : h("p", { class: "muted" }, "No facts reported."),
  changes.length ? h("details", { class: "fact-changes" }, h("summary", {}, "Changes (" + changes.length + ")"),
    h("ul", {}, changes.map(([t, keys]) => h("li", {}, h("span", { title: absTime(t) }, localTime(t)), ": " + keys.join(", "))))) : null);
  put($("#agent-downtimes"), dts.items.length ? downtimeTable(dts.items) : h("p", { class: "muted" }, "None."));
  ready("agent");
}

// ---- downtimes ---------------------------------------------------------------------------

function dtKind(d) {
  const t = now();
  if (Date.parse(d.end) <= t) return "past";
  if (Date.parse(d.start) > t) return "scheduled";
  return "active";
}

function dtTarget(d) {
  if (d.check_id) {
    const c = S.dtChecks && S.dtChecks.get(d.check_id);
    return h("a", { href: "/checks/" + d.check_id, "data-nav": true }, c ? cname(c) : "check " + d.check_id);
  }
  return h("a", { href: "/agents/" + d.agent_id, "data-nav": true }, agentName(d.agent_id) + " (whole agent)");
}

function downtimeTable(items) {
  const may = canAct();
  return h("table", { class: "downtimes" }, h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "For"),
    h("th", {}, "Start"), h("th", {}, "End"), h("th", { class: "hide-s" }, "Comment"), may ? h("th", {}, "") : null)),
  h("tbody", {}, items.map((d) => {
    const k = dtKind(d);
    return h("tr", { "data-downtime-id": d.id, "data-kind": k },
      h("td", {}, h("span", { class: "mark mark-" + k }, k)),
      h("td", {}, dtTarget(d)),
      h("td", { title: absTime(d.start) }, localTime(d.start)),
      h("td", { title: absTime(d.end) }, localTime(d.end), k === "active" ? [" (", age(d.end, "in "), ")"] : null),
      h("td", { class: "hide-s" }, str(d.comment)),
      may ? h("td", {}, k === "past" ? null : h("button", { type: "button", class: "dt-cancel", onclick: async (e) => {
        const btn = e.target;
        btn.disabled = true;
        try {
          await api("DELETE", "/api/v1/downtimes/" + d.id);
          btn.closest("tr").remove();
          if (S.view === "downtimes") await loadDowntimeList();
        } catch (x) {
          btn.disabled = false;
          btn.after(h("span", { class: "error" }, " " + x.message));
        }
      } }, k === "active" ? "End now" : "Cancel")) : null);
  })));
}

async function loadDowntimeList() {
  const [j] = await Promise.all([api("GET", "/api/v1/downtimes?limit=1000"), S.agentsLoaded ? null : loadAgents()]);
  S.dtChecks = S.dtChecks || new Map();
  const need = [...new Set(j.items.filter((d) => d.check_id && !S.dtChecks.has(d.check_id)).map((d) => d.check_id))].slice(0, 200);
  await Promise.all(need.map((id) => api("GET", "/api/v1/checks/" + id).then((c) => {
    c.agent_name = agentName(c.agent_id);
    S.dtChecks.set(id, c);
  }, () => {})));
  const items = j.items.filter((d) => matches(d.comment, d.check_id ? cname(S.dtChecks.get(d.check_id) || {}) : agentName(d.agent_id)));
  const cur = items.filter((d) => dtKind(d) !== "past").sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const past = items.filter((d) => dtKind(d) === "past").slice(0, 50);
  put($("#dt-current"), cur.length ? downtimeTable(cur) : h("p", { class: "muted" }, "No downtime now or scheduled."));
  put($("#dt-past"), past.length ? downtimeTable(past) : h("p", { class: "muted" }, "None."));
}

async function renderDowntimesView() {
  S.view = "downtimes";
  const may = canAct();
  const parts = [h("h1", {}, "Downtimes")];
  if (may) {
    if (!S.agentsLoaded) await loadAgents();
    const list = h("datalist", { id: "dt-targets" }, [...S.agents.values()].slice(0, 2000).map((a) => h("option", { value: str(a.name) })));
    const target = h("input", { id: "dtn-target", list: "dt-targets", required: true, placeholder: "agent, or agent/check", autocomplete: "off" });
    const forSel = h("select", { id: "dtn-for" }, DURATIONS.slice(1).map(([v, t]) => h("option", { value: v, selected: v === "2" }, t)),
      h("option", { value: "custom" }, "from … to …"));
    const start = h("input", { id: "dtn-start", type: "datetime-local", value: localInput(now()) });
    const end = h("input", { id: "dtn-end", type: "datetime-local", value: localInput(now() + 2 * 3600e3) });
    const custom = h("span", { hidden: true }, h("label", {}, "Start ", start), " ", h("label", {}, "End ", end));
    forSel.addEventListener("change", () => { custom.hidden = forSel.value !== "custom"; });
    const comment = h("input", { id: "dtn-comment", maxlength: 1000, placeholder: "why" });
    const err = h("span", { class: "error", id: "dtn-error", role: "alert" });
    const form = h("form", { id: "dt-new", class: "filters" },
      h("label", {}, "For ", target), " ", h("label", {}, "Duration ", forSel), " ", custom, " ",
      h("label", {}, "Comment ", comment), " ", h("button", { type: "submit", id: "dtn-ok" }, "Schedule"), " ", err, list);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      err.textContent = "";
      try {
        const [s, en] = dtWindow(forSel.value, start.value, end.value);
        const body = { start: s.toISOString(), end: en.toISOString(), comment: comment.value };
        const t = target.value.trim();
        const slash = t.indexOf("/");
        const aname = slash >= 0 ? t.slice(0, slash) : t;
        const ag = [...S.agents.values()].find((a) => a.name === aname);
        if (!ag) throw new Error("no agent named " + aname);
        if (slash >= 0) {
          const cn = t.slice(slash + 1);
          const cs = await api("GET", "/api/v1/checks?agent_id=" + ag.id + "&limit=1000");
          const c = cs.items.find((x) => x.name === cn);
          if (!c) throw new Error("no check " + cn + " on " + aname);
          body.check_id = c.id;
        } else body.agent_id = ag.id;
        await api("POST", "/api/v1/downtimes", body);
        target.value = ""; comment.value = "";
        await loadDowntimeList();
      } catch (x) { err.textContent = x.message; }
    });
    parts.push(form);
  }
  parts.push(h("h2", {}, "Now and scheduled"), h("div", { id: "dt-current" }, "…"),
    h("h2", {}, "Ended (the last 50)"), h("div", { id: "dt-past" }));
  put(main(), ...parts);
  await loadDowntimeList();
}

// ---- events and notifications views ----------------------------------------------------
//
// The events API pages forwards (since_id, oldest first); the page walks
// backwards in windows of ids, newest first, keeping what the filters
// pass, until it has a page to show or reaches the oldest event.

const KINDS = ["PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT", "FLAPPING START", "FLAPPING STOP", "DOWNTIME START",
  "DOWNTIME END", "AGENT DOWN", "AGENT UP", "RENOTIFY"];

function eventPasses(e) {
  const q = S.eventsQuery || {};
  if (q.agent && !str(e.agent).toLowerCase().includes(q.agent.toLowerCase())) return false;
  if (q.check && !str(e.check).toLowerCase().includes(q.check.toLowerCase())) return false;
  const t = Date.parse(e.created_at);
  if (q.from && t < q.from) return false;
  if (q.to && t > q.to) return false;
  if (S.filter && !matches(e.agent, e.check, e.kind, e.output, e.detail && e.detail.comment)) return false;
  return true;
}

async function eventsPage(first) {
  const q = S.eventsQuery;
  const want = S.events.length + 100;
  let before = S.eventsBefore;
  const kind = q.kind ? "&kind=" + encodeURIComponent(q.kind) : "";
  let windows = 0;
  while (S.eventsBuf.length < want && before > 0 && windows < 40) {
    const from = Math.max(0, before - 1000);
    const j = await api("GET", "/api/v1/events?since_id=" + from + "&limit=1000" + kind);
    const got = j.items.filter((e) => e.id <= before).reverse();
    for (const e of got) if (eventPasses(e)) S.eventsBuf.push(e);
    before = from;
    windows++;
    if (q.from && got.length && Date.parse(got[got.length - 1].created_at) < q.from) { before = 0; break; }
  }
  S.eventsBefore = before;
  S.events = S.eventsBuf.slice(0, want);
  renderEvents();
  const more = before > 0 || S.eventsBuf.length > S.events.length;
  $("#events-older").hidden = !more;
  $("#events-n").textContent = fmtNum(S.events.length) + " events shown" + (more ? "" : " (all history searched)");
  if (first) ready("events");
}

async function renderEventsView() {
  S.view = "events";
  const kind = h("select", { id: "ev-kind" }, h("option", { value: "" }, "any"), KINDS.map((k) => h("option", { value: k }, k)));
  const agent = h("input", { id: "ev-agent", placeholder: "agent", size: 10 });
  const check = h("input", { id: "ev-check", placeholder: "check", size: 10 });
  const from = h("input", { id: "ev-from", type: "datetime-local" });
  const to = h("input", { id: "ev-to", type: "datetime-local" });
  kind.value = qget("kind"); agent.value = qget("agent"); check.value = qget("check");
  from.value = qget("from"); to.value = qget("to");
  const form = h("form", { class: "filters", id: "ev-filters" },
    h("label", {}, "Kind ", kind), " ", h("label", {}, "Agent ", agent), " ", h("label", {}, "Check ", check), " ",
    h("label", {}, "From ", from), " ", h("label", {}, "To ", to), " ", h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    qset({ kind: kind.value, agent: agent.value.trim(), check: check.value.trim(), from: from.value, to: to.value });
    loadEvents().catch((x) => { $("#events").textContent = x.message; });
  });
  kind.addEventListener("change", () => form.requestSubmit());
  put(main(), h("h1", {}, "Events"), form, h("p", { class: "muted", id: "events-n" }, ""),
    h("div", { id: "events" }),
    h("button", { type: "button", id: "events-older", hidden: true, onclick: () => eventsPage(false).catch(() => {}) }, "Older events"));
  await loadEvents();
}

async function loadEvents() {
  const f = qget("from"), t = qget("to");
  S.eventsQuery = { kind: qget("kind"), agent: qget("agent"), check: qget("check"),
    from: f ? new Date(f).getTime() : 0, to: t ? new Date(t).getTime() : 0 };
  const st = await api("GET", "/api/v1/status");
  S.events = [];
  S.eventsBuf = [];
  S.eventsBefore = st.last_event_id;
  await eventsPage(true);
}

// the delivery log, newest first: the API's own filters (status, channel)
// and its cursor to page back; the text box narrows what is shown
function notificationRow(n) {
  return h("tr", { "data-notification-id": n.id },
    h("td", { title: absTime(n.created_at) }, localTime(n.created_at)), h("td", {}, str(n.kind)),
    h("td", {}, n.check_id ? h("a", { href: "/checks/" + n.check_id, "data-nav": true }, str(n.agent) + "/" + str(n.check)) : str(n.agent)),
    h("td", { class: "hide-s" }, str(n.channel)), h("td", { class: "hide-s" }, str(n.contact, "—")), h("td", {}, str(n.status)),
    h("td", { class: "hide-s" }, str(n.attempts, "0")),
    h("td", { class: "out hide-s" }, str(n.last_error)));
}

async function notificationsPage(tbody, more) {
  const q = "/api/v1/notifications?limit=200" + (qget("status") ? "&status=" + encodeURIComponent(qget("status")) : "")
    + (qget("channel") ? "&channel=" + encodeURIComponent(qget("channel")) : "")
    + (S.notesCursor ? "&cursor=" + encodeURIComponent(S.notesCursor) : "");
  const j = await api("GET", q);
  tbody.append(...j.items.filter((n) => matches(n.agent, n.check, n.contact, n.channel, n.status, n.last_error)).map(notificationRow));
  S.notesCursor = j.next;
  more.hidden = !j.next;
}

async function renderNotificationsView() {
  S.view = "notifications";
  S.notesCursor = null;
  const sel = (id, key, opts) => {
    const e = h("select", { id, onchange: () => { qset({ [key]: e.value }); route(); } },
      opts.map((v) => h("option", { value: v }, v || "any")));
    e.value = qget(key);
    return e;
  };
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", id: "notes-older", hidden: true }, "Older notifications");
  more.addEventListener("click", () => notificationsPage(tbody, more).catch((x) => { more.after(h("span", { class: "error" }, " " + x.message)); }));
  put(main(), h("h1", {}, "Notifications"),
    h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("label", {}, "Status ", sel("nf-status", "status", ["", "pending", "sent", "failed"])), " ",
      h("label", {}, "Channel ", sel("nf-channel", "channel", ["", "email", "pushover", "webhook"]))),
    h("table", { id: "notifications" }, h("thead", {}, h("tr", {},
      h("th", {}, "Created"), h("th", {}, "Kind"), h("th", {}, "Agent/check"), h("th", { class: "hide-s" }, "Channel"), h("th", { class: "hide-s" }, "Contact"),
      h("th", {}, "Status"), h("th", { class: "hide-s" }, "Attempts"), h("th", { class: "hide-s" }, "Last error"))), tbody),
    more);
  await notificationsPage(tbody, more);
}

// ---- routing and keys --------------------------------------------------------------------

async function route() {
  if (!S.me) return;
  const p = location.pathname;
  const view = qget("view");
  let m;
  S.sel = -1;
  delete main().dataset.ready;
  document.body.classList.toggle("wall", isOverviewRoute() && qget("wall") === "1");
  if (!isOverviewRoute()) {
    S.prefetch = null;
    // the header's counts on every page: from the last /status, or a fresh one
    if (S.status) renderCounts();
    else {
      // with the agents: a DOWN agent's checks count as UNKNOWN here too
      Promise.all([api("GET", "/api/v1/status"), S.agentsLoaded ? null : loadAgents()]).then(([st]) => {
        if (S.status) return;
        S.status = st;
        S.clockOffset = Date.parse(st.server_time) - Date.now();
        S.problems = new Map(st.problems.map((c) => [c.id, c]));
        renderCounts();
      }, () => {});
    }
  }
  $("#filter").value = qget("q");
  S.filter = qget("q").trim();
  for (const a of document.querySelectorAll("#bar .views a[data-view]")) {
    a.classList.toggle("on", a.dataset.view === (view || (p === "/" ? "overview" : "")));
  }
  try {
    if ((m = p.match(/^\/checks\/(\d+)\/?$/))) await renderCheckPage(Number(m[1]));
    else if ((m = p.match(/^\/agents\/(\d+)\/?$/))) await renderAgentPage(Number(m[1]));
    else if (view === "events") { document.title = "Events - custos"; await renderEventsView(); }
    else if (view === "notifications") { document.title = "Notifications - custos"; await renderNotificationsView(); }
    else if (view === "hosts") { document.title = "Hosts - custos"; await renderHostsView(); }
    else if (view === "downtimes") { document.title = "Downtimes - custos"; await renderDowntimesView(); }
    else { document.title = "custos"; await renderOverview(); }
    S.prefetch = null;
    ready(S.view);
  } catch (x) {
    if (x.status === 401) { S.me = null; streamStop(); showLogin("Your session ended; log in again."); }
    else {
      main().append(h("p", { class: "error", role: "alert" }, x.message));
      // a wall screen does not wait for a click: try again
      if (isWall()) setTimeout(() => { if (isWall()) route(); }, 5000);
    }
  }
}

function markSel() {
  const rows = [...document.querySelectorAll("#problems tbody tr[data-check-id]")];
  rows.forEach((r, i) => r.classList.toggle("sel", i === S.sel));
  if (rows[S.sel]) rows[S.sel].scrollIntoView({ block: "nearest" });
  return rows[S.sel];
}

function selected() {
  const tr = markSel();
  if (!tr) return null;
  const id = Number(tr.dataset.checkId);
  return S.problems.get(id) || S.downChecks.get(id) || null;
}

document.addEventListener("keydown", (e) => {
  if (!S.me || e.ctrlKey || e.metaKey || e.altKey || isWall()) return;
  if ($("#dlg").open || $("#help").open) return;
  const inField = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (inField) {
    if (e.key === "Escape") document.activeElement.blur();
    return;
  }
  const rows = document.querySelectorAll("#problems tbody tr[data-check-id]").length;
  const may = canAct();
  switch (e.key) {
  case "/": e.preventDefault(); $("#filter").focus(); break;
  case "j": S.sel = Math.min(rows - 1, S.sel + 1); markSel(); break;
  case "k": S.sel = Math.max(0, S.sel - 1); markSel(); break;
  case "Enter": { const c = selected(); if (c) nav("/checks/" + c.id); break; }
  case "a": { const c = S.view === "check" ? S.check : selected(); if (c && may) { e.preventDefault(); ackDialog([c]); } break; }
  case "d": { const c = S.view === "check" ? S.check : selected(); if (c && may) { e.preventDefault(); downtimeDialog({ check: c }); } break; }
  case "g": nav("/"); break;
  case "?": $("#help").showModal(); break;
  default: return;
  }
});

$("#filter").addEventListener("input", (e) => {
  S.filter = e.target.value.trim();
  qset({ q: S.filter });
  if (S.view === "overview") { renderProblems(); renderAgents(); renderEvents(); }
  else if (S.view === "hosts") renderHosts();
  else if (S.view === "events") {
    clearTimeout(S.evTimer);
    S.evTimer = setTimeout(() => loadEvents().catch(() => {}), 300);
  } else if (S.view === "downtimes") loadDowntimeList().catch(() => {});
  else if (S.view === "notifications") {
    clearTimeout(S.evTimer);
    S.evTimer = setTimeout(() => route(), 300);
  } else renderEvents();
});

// ---- start ---------------------------------------------------------------------------------

// The overview's /status is asked for together with /session (not after
// it): from the login's Enter to the problems on screen is then the login
// POST and one more round trip. Without a session both answer 401.
function isOverviewRoute() {
  return !/^\/(checks|agents)\/\d+\/?$/.test(location.pathname) && !qget("view");
}

async function start(loggedIn) {
  // just logged in: the cookie is good, so the stream opens first (changes
  // after the /status read below then reach the page)
  if (loggedIn) connect(true);
  const st = isOverviewRoute() ? api("GET", "/api/v1/status") : null;
  if (st) st.catch(() => {});   // its failure is handled where it is used
  try {
    S.me = await api("GET", "/api/v1/session");
  } catch (x) {
    if (x.status === 401) { showLogin(); return; }
    put(main(), h("p", { class: "error", role: "alert" }, "custos is unreachable: " + x.message + "; trying again"));
    setTimeout(() => start(false), 3000);
    return;
  }
  $("#bar").hidden = false;
  document.body.dataset.role = S.me.role;
  // who is logged in: "alice (operator)"; a token's session names the token
  $("#me").textContent = (S.me.name ? str(S.me.name) + " " : "") + "(" + str(S.me.role, "?") + ")";
  if (!loggedIn) connect(false);
  S.prefetch = st;
  await route();
}

setInterval(() => {
  refreshAges();
  if (S.lastDown) setLive(false);
}, 10000);

start(false);
