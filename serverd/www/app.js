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
// All text from the API goes into the DOM as text nodes (dom.js h()), never
// as HTML; the page has no inline script (the CSP forbids it).
//
// The modules (each served as /ui/NAME by serverd, from a list compiled
// into it: serverd/http/static.c):
//   app.js        this: routing, keys, the start, the page-wide listeners
//   state.js      S, every field of the page's state declared in one place
//   api.js        the REST API          stream.js   the live stream
//   dom.js        h(), put(), times, the URL's query, nav()
//   login.js      the login form        dialogs.js  acknowledge, downtime
//   overview.js   problems, wall        hosts.js    the hosts view
//   check.js      the check page        backtest.js its threshold editor
//   agent.js      the agent page        downtimes.js, events.js  those views
//   chart.js      the value chart (SVG)
//   stream-worker.js  the SharedWorker holding the one stream of a browser

import { S, canAct } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, h, main, nav, put, qget, qset, ready, refreshAges, str } from "/ui/dom.js";
import { showLogin } from "/ui/login.js";
import { connect, reloadData, setLive, streamStop } from "/ui/stream.js";
import { ackDialog, downtimeDialog } from "/ui/dialogs.js";
import { isWall, loadAgents, renderAgents, renderCounts, renderEvents, renderOverview, renderProblems } from "/ui/overview.js";
import { renderHosts, renderHostsView } from "/ui/hosts.js";
import { renderCheckPage } from "/ui/check.js";
import { renderAgentPage } from "/ui/agent.js";
import { loadDowntimeList, renderDowntimesView } from "/ui/downtimes.js";
import { loadEvents, renderEventsView, renderNotificationsView } from "/ui/events.js";

// ---- routing and keys --------------------------------------------------------------------

export async function route() {
  if (!S.me) return;
  const p = location.pathname;
  const view = qget("view");
  let m;
  S.sel = -1;
  delete main().dataset.ready;
  document.body.classList.toggle("wall", isOverviewRoute() && qget("wall") === "1");
  if (!isOverviewRoute()) S.prefetch = null;
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
    if (x.status === 401) { S.me = null; streamStop(); showLogin("Your session ended; log in again."); return; }
    main().append(h("p", { class: "error", role: "alert" }, x.message));
    // a wall screen does not wait for a click: try again
    if (isWall()) setTimeout(() => { if (isWall()) route(); }, 5000);
  }
  if (!isOverviewRoute()) headerCounts();
}

// The header's counts on every page but the overview (which has its own
// /status): from the last /status, or a fresh one with the agents (a DOWN
// agent's checks count as UNKNOWN here too). Asked for after the view is
// on screen, not beside its requests: the agent list is the heaviest read
// of the API (every agent's availability), and a check page opened from a
// mail would otherwise wait for it (bench/dashboard's chart, part 6); the
// hosts and downtimes views have loaded the agents by then.
function headerCounts() {
  if (S.status) { renderCounts(); return; }
  Promise.all([api("GET", "/api/v1/status"), S.agentsLoaded ? null : loadAgents()]).then(([st]) => {
    if (S.status) return;
    S.status = st;
    S.clockOffset = Date.parse(st.server_time) - Date.now();
    S.problems = new Map(st.problems.map((c) => [c.id, c]));
    renderCounts();
  }, () => {});
}

export function markSel() {
  const rows = [...document.querySelectorAll("#problems tbody tr[data-check-id]")];
  rows.forEach((r, i) => r.classList.toggle("sel", i === S.sel));
  if (rows[S.sel]) rows[S.sel].scrollIntoView({ block: "nearest" });
  return rows[S.sel];
}

export function selected() {
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

// ---- start ------------------------------------------------------------------------------

// The overview's /status is asked for together with /session (not after
// it): from the login's Enter to the problems on screen is then the login
// POST and one more round trip. Without a session both answer 401.
export function isOverviewRoute() {
  return !/^\/(checks|agents)\/\d+\/?$/.test(location.pathname) && !qget("view");
}

export async function start(loggedIn) {
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

// ---- the page-wide listeners ------------------------------------------------------------

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-nav]");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  nav(a.getAttribute("href"));
});

window.addEventListener("popstate", () => route());

$("#logout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/v1/session"); } catch (e) { /* gone anyway */ }
  streamStop();
  S.me = null;
  showLogin("Logged out.");
});

window.addEventListener("pagehide", () => streamStop());

window.addEventListener("pageshow", (e) => {
  // back from the back/forward cache: join the stream again, read again
  if (e.persisted && S.me) { connect(false); reloadData(); }
});

start(false);
