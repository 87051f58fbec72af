// custos dashboard - the downtimes view (?view=downtimes): current and
// scheduled, weekly windows (a definition: "every sun 02:00-04:00" in a
// zone; its occurrences are ordinary downtimes), create, cancel.

import { S, canAct } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, absTime, age, h, localTime, main, matches, now, put, str } from "/ui/dom.js";
import { DURATIONS, cname, dtWindow, localInput } from "/ui/dialogs.js";
import { agentName, loadAgents } from "/ui/overview.js";

export function dtKind(d) {
  if (d.recurring) return "weekly";
  const t = now();
  if (Date.parse(d.end) <= t) return "past";
  if (Date.parse(d.start) > t) return "scheduled";
  return "active";
}

export function dtTarget(d) {
  if (d.check_id) {
    const c = S.dtChecks && S.dtChecks.get(d.check_id);
    return h("a", { href: "/checks/" + d.check_id, "data-nav": true }, c ? cname(c) : "check " + d.check_id);
  }
  return h("a", { href: "/agents/" + d.agent_id, "data-nav": true }, agentName(d.agent_id) + " (whole agent)");
}

export function downtimeTable(items) {
  const may = canAct();
  return h("table", { class: "downtimes" }, h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "For"),
    h("th", {}, "Start"), h("th", {}, "End"), h("th", { class: "hide-s" }, "Comment"), may ? h("th", {}, "") : null)),
  h("tbody", {}, items.map((d) => {
    const k = dtKind(d);
    return h("tr", { "data-downtime-id": d.id, "data-kind": k },
      h("td", {}, h("span", { class: "mark mark-" + k }, k)),
      h("td", {}, dtTarget(d)),
      k === "weekly" ? h("td", {}, "every " + str(d.recurring) + " (" + str(d.tz) + ")", d.active ? " – active now" : null)
        : h("td", { title: absTime(d.start) }, localTime(d.start)),
      k === "weekly" ? h("td", { title: d.next ? absTime(d.next.start) : "" },
        d.next ? ["next ", localTime(d.next.start), " – ", localTime(d.next.end)] : "—")
        : h("td", { title: absTime(d.end) }, localTime(d.end), k === "active" ? [" (", age(d.end, "in "), ")"] : null),
      h("td", { class: "hide-s" }, str(d.comment), d.recurring_id ? h("span", { class: "muted" }, " (weekly)") : null),
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
      } }, k === "active" ? "End now" : k === "weekly" ? "Delete" : "Cancel")) : null);
  })));
}

export async function loadDowntimeList() {
  const [j] = await Promise.all([api("GET", "/api/v1/downtimes?limit=1000"), S.agentsLoaded ? null : loadAgents()]);
  S.dtChecks = S.dtChecks || new Map();
  const need = [...new Set(j.items.filter((d) => d.check_id && !S.dtChecks.has(d.check_id)).map((d) => d.check_id))].slice(0, 200);
  await Promise.all(need.map((id) => api("GET", "/api/v1/checks/" + id).then((c) => {
    c.agent_name = agentName(c.agent_id);
    S.dtChecks.set(id, c);
  }, () => {})));
  const items = j.items.filter((d) => matches(d.comment, d.check_id ? cname(S.dtChecks.get(d.check_id) || {}) : agentName(d.agent_id)));
  // weekly windows first (they have no start), then by start
  const key = (d) => (d.recurring ? -Infinity : Date.parse(d.start));
  const cur = items.filter((d) => dtKind(d) !== "past").sort((a, b) => key(a) - key(b) || a.id - b.id);
  const past = items.filter((d) => dtKind(d) === "past").slice(0, 50);
  put($("#dt-current"), cur.length ? downtimeTable(cur) : h("p", { class: "muted" }, "No downtime now or scheduled."));
  put($("#dt-past"), past.length ? downtimeTable(past) : h("p", { class: "muted" }, "None."));
}

export async function renderDowntimesView() {
  S.view = "downtimes";
  const may = canAct();
  const parts = [h("h1", {}, "Downtimes")];
  if (may) {
    if (!S.agentsLoaded) await loadAgents();
    const list = h("datalist", { id: "dt-targets" }, [...S.agents.values()].slice(0, 2000).map((a) => h("option", { value: str(a.name) })));
    const target = h("input", { id: "dtn-target", list: "dt-targets", required: true, placeholder: "agent, or agent/check", autocomplete: "off" });
    const forSel = h("select", { id: "dtn-for" }, DURATIONS.slice(1).map(([v, t]) => h("option", { value: v, selected: v === "2" }, t)),
      h("option", { value: "custom" }, "from … to …"), h("option", { value: "weekly" }, "every week …"));
    const start = h("input", { id: "dtn-start", type: "datetime-local", value: localInput(now()) });
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    const win = h("input", { id: "dtn-weekly", placeholder: "sun 02:00-04:00", size: 18 });
    const tz = h("input", { id: "dtn-tz", value: zone, size: 16 });
    const weekly = h("span", { hidden: true }, h("label", {}, "Window ", win), " ", h("label", {}, "Zone ", tz));
    const end = h("input", { id: "dtn-end", type: "datetime-local", value: localInput(now() + 2 * 3600e3) });
    const custom = h("span", { hidden: true }, h("label", {}, "Start ", start), " ", h("label", {}, "End ", end));
    forSel.addEventListener("change", () => {
      custom.hidden = forSel.value !== "custom";
      weekly.hidden = forSel.value !== "weekly";
    });
    const comment = h("input", { id: "dtn-comment", maxlength: 1000, placeholder: "why" });
    const err = h("span", { class: "error", id: "dtn-error", role: "alert" });
    const form = h("form", { id: "dt-new", class: "filters" },
      h("label", {}, "For ", target), " ", h("label", {}, "Duration ", forSel), " ", custom, weekly, " ",
      h("label", {}, "Comment ", comment), " ", h("button", { type: "submit", id: "dtn-ok" }, "Schedule"), " ", err, list);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      err.textContent = "";
      try {
        let body;
        if (forSel.value === "weekly") {
          // the server reads the window and the zone (its 422 says what is wrong)
          body = { recurring: win.value.trim(), tz: tz.value.trim(), comment: comment.value };
        } else {
          const [s, en] = dtWindow(forSel.value, start.value, end.value);
          body = { start: s.toISOString(), end: en.toISOString(), comment: comment.value };
        }
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
