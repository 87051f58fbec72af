// custos dashboard - the hosts view (?view=hosts): every agent, its worst
// state and counts, up since / down since; sortable.

import { S, canAct } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, agBadge, age, fmtNum, h, main, matches, pct, put, qget, qset, stBadge, str } from "/ui/dom.js";
import { downtimeDialog } from "/ui/dialogs.js";
import { agentSince, loadAgentSince, loadAgents, renderCounts, sinceWords } from "/ui/overview.js";

export const HOST_COLS = [
  ["name", "Agent"], ["state", "State"], ["worst", "Worst check"], ["CRITICAL", "Crit"], ["WARNING", "Warn"],
  ["UNKNOWN", "Unkn"], ["OK", "OK"], ["since", "Up / down since"], ["avail", "Avail. 7 d"], ["checkout", "Last checkout"],
];
export const WORST = ["CRITICAL", "UNKNOWN", "WARNING", "PENDING", "OK"];

// the problems' counts per agent come with /status and are drawn at once;
// the OK counts need every check (paged, 1,000 at a time) and follow
export async function loadHosts() {
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

export function hostRows() {
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

export function renderHosts() {
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

export async function renderHostsView() {
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
