// custos dashboard - the check page (/checks/{id}): state, parameters,
// thresholds, availability, actions, the chart (chart.js) and the last
// results, notifications and events.

import { S, canAct, isAdmin } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, absTime, age, firstLine, h, localTime, main, now, pct, put, qget, stBadge, str } from "/ui/dom.js";
import { drawChart, fmtLocal, fmtValue } from "/ui/chart.js";
import { ackDialog, downtimeDialog } from "/ui/dialogs.js";
import { agentDown, dtEnd, loadDowntimes, mergeEvents, renderEvents } from "/ui/overview.js";
import { thresholdEditor, thresholdLine } from "/ui/backtest.js";

// "value 91, warning outside 85, critical outside 95", in words
export function thresholdWords(c, v) {
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
export function ackMark(s, info, id) {
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
export function paramsLine(p) {
  if (!p || typeof p !== "object") return "—";
  return Object.entries(p).map(([k, v]) => k + " " + (typeof v === "string" ? v : JSON.stringify(v))).join(", ") || "—";
}

// The chart's ranges: each asks the summary API for buckets the API keeps
// (minute buckets for 2 days, hour buckets for 400): at most 360 points.
export const RANGES = {
  "1h": { by: "minute", ms: 3600e3, step: 60e3 },
  "6h": { by: "minute", ms: 6 * 3600e3, step: 60e3 },
  "24h": { by: "hour", ms: 86400e3, step: 3600e3 },
  "7d": { by: "hour", ms: 7 * 86400e3, step: 3600e3 },
  "30d": { by: "day", ms: 30 * 86400e3, step: 86400e3 },
};

export function byFor(span) {
  if (span <= 6 * 3600e3) return ["minute", 60e3];
  if (span <= 14 * 86400e3) return ["hour", 3600e3];
  return ["day", 86400e3];
}

// the range chosen is kept in the URL (?range=), as the overview's filters are
export function keepRange(k) {
  const q = new URLSearchParams(location.search);
  if (k === "24h") q.delete("range"); else q.set("range", k);
  const qs = q.toString();
  history.replaceState(history.state, "", location.pathname + (qs ? "?" + qs : ""));
}

// the window of a range (or of a zoom [t0, t1]): {t0, t1, by, step}
function chartWindow(key, zoom) {
  if (zoom) {
    const [by, step] = byFor(zoom[1] - zoom[0]);
    return { t0: zoom[0], t1: zoom[1], by, step };
  }
  const r = RANGES[key], t1 = now();
  return { t0: t1 - r.ms, t1, by: r.by, step: r.step };
}

function fetchChart(id, w) {
  return api("GET", "/api/v1/checks/" + id + "/summary?by=" + w.by
    + "&since=" + encodeURIComponent(new Date(w.t0).toISOString())
    + "&until=" + encodeURIComponent(new Date(w.t1).toISOString()));
}

// pre: {w, p}, the window and the summary request already under way (the
// check page asks for it beside the check itself, not after it)
export async function loadChart(c, key, zoom, pre) {
  S.chartRange = key;
  const w = pre ? pre.w : chartWindow(key, zoom);
  const { t0, t1, by, step } = w;
  const token = S.chartToken = {};
  const j = await (pre ? pre.p : fetchChart(c.id, w));
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

export function availability(av) {
  const a = av || {};
  return h("span", { class: "avail" }, ["24h", "7d", "30d"].map((k) =>
    h("span", { class: "av", "data-range": k }, h("b", {}, pct(a[k])), " " + k.replace("h", " h").replace("d", " d") + " ")));
}

export function renderCheckState(c) {
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
      c.suppressed_by ? h("span", { class: "mark mark-suppressed", id: "mark-suppressed",
        title: "its parent is a HARD problem: recorded, not notified" }, "SUPPRESSED by " + c.suppressed_by) : null,
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

export async function act(fn) {
  const err = $("#act-error");
  if (err) err.textContent = "";
  try {
    await fn();
    if (S.view === "check") await loadCheck(S.viewId);
  } catch (x) {
    if (err) err.textContent = x.message;
  }
}

export async function loadCheck(id) {
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

export async function renderCheckPage(id) {
  S.view = "check";
  S.viewId = id;
  S.events = [];
  S.why = new Map();
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
  // the chart's data is asked for now, beside the check: the 30-day chart
  // is then drawn one round trip after the page opened, not three
  const w0 = chartWindow(range0), pre = { w: w0, p: fetchChart(id, w0) };
  pre.p.catch(() => {});   // a failure is shown where the chart is drawn
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
    api("GET", "/api/v1/events?check_id=" + id + "&before_id=" + Number.MAX_SAFE_INTEGER + "&limit=50"),
    loadChart(c, range0, null, pre).catch((x) => { $("#check-chart").textContent = x.message; })]);
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
  // newest first, with what the stream brought while the pages loaded
  S.events = mergeEvents(evs.items, S.events).slice(0, 50);
  const ack = S.events.find((e) => e.kind === "ACKNOWLEDGEMENT");
  S.ackInfo = ack ? ack.detail : null;
  renderCheckState(S.check);
  renderEvents();
}
