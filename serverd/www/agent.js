// custos dashboard - the agent page (/agents/{id}).

import { S, canAct } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, absTime, agBadge, age, firstLine, h, localTime, main, pct, put, ready, stBadge, str } from "/ui/dom.js";
import { downtimeDialog } from "/ui/dialogs.js";
import { loadAgentSince, sinceWords } from "/ui/overview.js";
import { availability } from "/ui/check.js";
import { downtimeTable } from "/ui/downtimes.js";

export function fmtBytes(n) {
  if (typeof n !== "number") return str(n);
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + u[i];
}

// a fact's value as text: lists joined, objects as "key: value" lines
export function factText(k, v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number" && /bytes$/.test(k)) return fmtBytes(v);
  if (Array.isArray(v)) return v.map((x) => factText("", x)).join(", ");
  if (typeof v === "object") return Object.entries(v).map(([a, b]) => a + ": " + factText(a, b)).join("\n");
  return String(v);
}

export function factsChanges(items) {
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

export async function renderAgentPage(id, refresh) {
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
