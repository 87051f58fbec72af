// custos dashboard - the overview: problems (sorted, filtered, grouped,
// selected for bulk actions), the OK checks' line, the agents' and events'
// panes, and the wall mode (?wall=1).

import { S, canAct } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, SEV, absTime, agBadge, age, firstLine, fmtNum, h, localTime, main, matches, nav, now, put, qget, qset, stBadge, str } from "/ui/dom.js";
import { ackDialog, downtimeDialog } from "/ui/dialogs.js";
import { ackMark } from "/ui/check.js";
import { eventPasses } from "/ui/events.js";
import { markSel } from "/ui/app.js";

export function agentName(id) {
  const a = S.agents.get(id);
  return a ? a.name : "agent " + id;
}

// since when an agent is in its state: the newest AGENT UP / AGENT DOWN
// event of it (loadAgentSince), else its due checkout (DOWN) or creation
export function agentSince(a) {
  const e = S.agentSince && S.agentSince.get(a.id);
  if (a.state_since) return a.state_since;
  if (e && e.state === a.state) return e.at;
  if (a.state === "down") return a.next_checkout_by;
  // up without an AGENT UP event: up since its first checkout, near its creation
  return e ? null : a.created_at;
}

export function sinceWords(a) {
  const t = agentSince(a);
  return t ? age(t, a.state === "down" ? "down for " : a.state === "up" ? "up for " : "new for ") : "—";
}

export async function loadAgentSince(agentId) {
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

export function agentDown(c) {
  const a = S.agents.get(c.agent_id);
  return a ? a.state === "down" : c.agent_state === "down";
}

export function dtEnd(c) {
  return S.downtimes.get("c" + c.id) || S.downtimes.get("a" + c.agent_id) || null;
}

export function inDowntime(c) { return !!(c.state && c.state.in_downtime) || !!dtEnd(c); }

// the state a row shows: a DOWN agent's checks have none of their own
export function rowState(c) {
  if (agentDown(c)) return "UNKNOWN";
  return (c.state && c.state.status) || "PENDING";
}

// the names ("agent/check") of the HARD problems on screen, built once per
// render (the cache is dropped when the render's task ends)
let hardNames = null;
function hardSet() {
  if (hardNames) return hardNames;
  hardNames = new Set();
  for (const c of S.problems.values()) {
    const s = c.state || {};
    if (s.state_type === "HARD" && s.status && s.status !== "OK") hardNames.add(c.agent_name + "/" + c.name);
  }
  queueMicrotask(() => { hardNames = null; });
  return hardNames;
}

// the parent ("agent/check") whose HARD problem suppresses c's
// notifications, or null (docs/alerting.md, "Dependencies"): the server's
// suppressed_by, kept current by the parents' own rows on the stream (a
// parent that recovers ends it; one that fails begins it for the checks
// that name it, or whose agent does)
export function suppressedBy(c) {
  const hard = hardSet();
  const a = S.agents.get(c.agent_id);
  const names = [c.suppressed_by, ...(c.parents || []), ...((a && a.parents) || [])];
  for (const n of names) if (n && n !== c.agent_name + "/" + c.name && hard.has(n)) return n;
  return null;
}

export function allRows() {
  const out = [...S.problems.values()];
  for (const c of S.downChecks.values()) if (!S.problems.has(c.id)) out.push(c);
  return out;
}

// the overview's filters, read from the URL once per render (not per row)
export function filters() {
  const q = new URLSearchParams(location.search);
  return { ack: q.get("ack") || "", dt: q.get("dt") || "", flap: q.get("flap") || "",
    state: (q.get("state") || "").split(",").filter(Boolean) };
}

// every filter but the state's: the counts are counted after these
export function passesBase(c, f) {
  const s = c.state || {};
  const { ack, dt, flap } = f;
  if (ack === "yes" && !s.acknowledged) return false;
  if (ack === "no" && s.acknowledged) return false;
  if (dt === "yes" && !inDowntime(c)) return false;
  if (dt === "no" && inDowntime(c)) return false;
  // "unhandled" (?ack=no&dt=no) leaves out what a parent's problem covers
  if (ack === "no" && dt === "no" && suppressedBy(c)) return false;
  if (flap === "yes" && !s.flapping) return false;
  return matches(c.agent_name, c.name, s.output);
}

export function passesState(c, f) {
  const set = f.state;
  if (!set.length) return true;
  return set.includes(rowState(c)) || (set.includes("DOWN") && agentDown(c));
}

export const SORTS = {
  state: null,
  check: (a, b) => (a.agent_name + "/" + a.name).localeCompare(b.agent_name + "/" + b.name),
  output: (a, b) => firstLine(a.state && a.state.output).localeCompare(firstLine(b.state && b.state.output)),
  since: (a, b) => (Date.parse(a.state && a.state.since) || 0) - (Date.parse(b.state && b.state.since) || 0),
};

export function sortedProblems() {
  const f = filters();
  const base = allRows().filter((c) => passesBase(c, f));
  const list = base.filter((c) => passesState(c, f));
  const since = new Map(list.map((c) => [c.id, Date.parse(c.state && c.state.since) || 0]));
  const by = SORTS[qget("sort")];
  const dir = qget("dir") === "desc" ? -1 : 1;
  list.sort((a, b) => (by ? dir * by(a, b) || a.id - b.id
    : (SEV[rowState(a)] ?? 3) - (SEV[rowState(b)] ?? 3)
    || (a.state && a.state.acknowledged || suppressedBy(a) ? 1 : 0) - (b.state && b.state.acknowledged || suppressedBy(b) ? 1 : 0)
    || since.get(a.id) - since.get(b.id)
    || a.id - b.id));
  return { list, base };
}

export function isWall() { return S.view === "wall"; }

// ?group=agent or ?group=label:KEY; anything else is no grouping
export function groupMode() {
  const g = qget("group");
  if (g === "agent") return { by: "agent" };
  if (g.startsWith("label:") && g.length > 6) return { by: "label", key: g.slice(6) };
  return null;
}

// a check's effective value of a label: its own over its agent's API
// labels over the agent's agentd.conf ones (docs/api.md), or undefined
export function labelOf(c, key) {
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
export function groupRows(list, g) {
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
export function groupHead(gr, cols) {
  const n = Object.entries(gr.n).sort((x, y) => (SEV[x[0]] ?? 3) - (SEV[y[0]] ?? 3) || x[0].localeCompare(y[0]));
  return h("tr", { class: "group", "data-group": gr.id },
    h("th", { colspan: String(cols), scope: "colgroup" }, gr.name + " · " + n.map(([k, v]) => fmtNum(v) + " " + k).join(", ")));
}

// the label keys the checks and agents carry, for the Group control
export function labelKeys() {
  const keys = new Set();
  for (const c of allRows()) for (const k of Object.keys(c.labels || {})) keys.add(k);
  for (const a of S.agents.values()) {
    for (const k of Object.keys(a.labels || {})) keys.add(k);
    for (const k of Object.keys(a.agent_labels || {})) keys.add(k);
  }
  return [...keys].sort();
}

export function fillGroupOptions() {
  const sel = $("#f-group");
  if (!sel) return;
  const want = [["", "none"], ["agent", "agent"], ...labelKeys().map((k) => ["label:" + k, "label " + k])];
  const cur = qget("group");
  if (cur && !want.some(([v]) => v === cur)) want.push([cur, cur.startsWith("label:") ? "label " + cur.slice(6) : cur]);
  if (sel.options.length !== want.length || want.some(([v], i) => sel.options[i].value !== v))
    put(sel, want.map(([v, t]) => h("option", { value: v }, t)));
  sel.value = cur;
}

export function problemRow(c) {
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
  const sup = suppressedBy(c);
  if (sup) marks.push(h("span", { class: "mark mark-suppressed",
    title: "its parent " + sup + " is a HARD problem: recorded, not notified" }, "SUPPRESSED by " + sup));
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
export const FIRST_ROWS = 60;

export function renderProblems(changedId) {
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
export function renderCounts(base) {
  if (!S.status) return;
  if (!base) { const f = filters(); base = allRows().filter((c) => passesBase(c, f)); }
  const n = { CRITICAL: 0, WARNING: 0, UNKNOWN: 0 };
  let unhandled = 0;
  for (const c of base) {
    const st = rowState(c);
    if (n[st] !== undefined) n[st]++;
    if (!(c.state && c.state.acknowledged) && !inDowntime(c) && !suppressedBy(c)) unhandled++;
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

export function renderOkLine() {
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

export function renderBulk() {
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

export function selectedChecks() {
  return [...S.selected].map((id) => S.problems.get(id) || S.downChecks.get(id)).filter(Boolean);
}

export function renderAgents() {
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
export function changeWords(e) {
  const type = e.state_type ? " (" + e.state_type.toLowerCase() + (e.state_type === "SOFT" && e.attempt ? " " + e.attempt : "") + ")" : "";
  if (e.prev_status && e.status) {
    if (e.prev_status === e.status && e.state_type === "HARD") return e.prev_status + " (soft) → " + e.status + " (hard)";
    return e.prev_status + " → " + e.status + type;
  }
  return e.status ? e.status + type : "";
}

export function eventRow(e) {
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
    h("td", { class: "out hide-s" }, note),
    S.view === "check" ? h("td", {}, h("button", { type: "button", class: "why-btn", "data-why": e.id,
      "aria-expanded": String(S.why.has(e.id)), onclick: () => toggleWhy(e.id) }, "why")) : null);
}

// The check page's "why" of an event: its routing record and each of its
// notification rows' (GET /api/v1/events/{id}/routing; docs/alerting.md,
// "Why was I paged"), as the lines custos why prints. Any decision word a
// writer records is shown; every string goes in as text. S.why keeps the
// open ones (id -> the answer, null while asked, an Error), so a redraw by
// the stream keeps them open.
export function decisionText(d) {
  const word = str(d.decision, "?"), detail = str(d.detail);
  if (word === "sent") return "sent at " + str(d.at) + (detail ? " (" + detail + ")" : "");
  if (!detail) return word;
  return detail.includes(word) ? detail : word + ": " + detail;
}

const routeText = (route) => (Array.isArray(route) && route.length ? route.map(decisionText).join("; ") : "(nothing recorded)");

function whyBox(r) {
  if (r === null) return h("p", { class: "muted" }, "…");
  if (r instanceof Error) return h("p", { class: "error" }, r.message);
  return h("div", { class: "why" },
    h("p", {}, (r.event && r.event.notify ? "notified — " : "not notified — ") + routeText(r.route)),
    (r.notifications || []).length ? h("ul", {}, r.notifications.map((n) => h("li", { "data-notification-id": n.id },
      str(n.contact, "(deleted contact)") + " " + str(n.channel) + " [" + str(n.status)
      + (n.policy !== null && n.policy !== undefined ? ", policy " + str(n.policy) + " step " + str(n.step) : "")
      + "]: " + routeText(n.route)))) : null);
}

function toggleWhy(id) {
  if (S.why.has(id)) { S.why.delete(id); renderEvents(); return; }
  S.why.set(id, null);
  renderEvents();
  api("GET", "/api/v1/events/" + id + "/routing").then((r) => r, (x) => x).then((r) => {
    if (S.why.has(id)) { S.why.set(id, r); renderEvents(); }
  });
}

// A list of events read for a view (newest first) with the ones the stream
// brought while it was read (S.events, newest first): one written after
// the list was read is kept, and one in both is shown once.
export function mergeEvents(list, streamed) {
  const top = list.length ? list[0].id : 0;
  const have = new Set(list.map((e) => e.id));
  return streamed.filter((e) => e.id > top && !have.has(e.id)).concat(list);
}

// The stream's event at the top of a view's list, unless the list has it
// (read after the event was written, before its frame came).
export function addEvent(list, e) {
  if (list.some((x) => x.id === e.id)) return false;
  list.unshift(e);
  return true;
}

export function renderEvents() {
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
  const check = S.view === "check";
  put(el, h("table", { class: "events" }, h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Kind"),
    h("th", {}, "Agent/check"), h("th", {}, "Change"), h("th", { class: "hide-s" }, "Output"),
    check ? h("th", {}, "Routing") : null)),
  h("tbody", {}, list.map((e) => [eventRow(e), check && S.why.has(e.id)
    ? h("tr", { class: "why-row", "data-why-of": e.id }, h("td", { colspan: 6 }, whyBox(S.why.get(e.id)))) : null]))));
}

export async function loadAgents() {
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

export async function loadDowntimes() {
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
export async function loadDownChecks() {
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
export async function loadOverviewData(first) {
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
    S.events = mergeEvents(ev.items.reverse(), S.events);
    renderEvents();
  }
}

export const FILTERS = [
  ["state", "State", [["", "any"], ["CRITICAL", "CRITICAL"], ["WARNING", "WARNING"], ["UNKNOWN", "UNKNOWN"], ["DOWN", "agent DOWN"]]],
  ["ack", "Acknowledged", [["", "any"], ["yes", "yes"], ["no", "no"]]],
  ["dt", "In downtime", [["", "any"], ["yes", "yes"], ["no", "no"]]],
  ["flap", "Flapping", [["", "any"], ["yes", "yes"]]],
];

export function syncFilterControls() {
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

export function sortHead(key, label, cls) {
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

export async function renderOverview() {
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

export async function expandOk() {
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
