// custos dashboard - the acknowledge and downtime dialogs, for one check, an
// agent or many selected checks.

import { S } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, fmtNum, h, now, put, str } from "/ui/dom.js";
import { scheduleRefresh } from "/ui/stream.js";
import { renderBulk } from "/ui/overview.js";
import { loadDowntimeList } from "/ui/downtimes.js";

export function dialog(title, body, onOk) {
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
export async function each(items, fn, label) {
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

export const DURATIONS = [["", "no expiry"], ["1", "1 h"], ["2", "2 h"], ["4", "4 h"], ["8", "8 h"], ["24", "1 day"], ["168", "1 week"]];
export const cname = (c) => str(c.agent_name, "agent " + c.agent_id) + "/" + str(c.name);

export function ackDialog(list) {
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

export function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

// a downtime for one check (or its agent), for an agent, or for many checks
export function downtimeDialog({ check, agent, checks }) {
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

export function dtWindow(forVal, startVal, endVal) {
  let s, e;
  if (forVal === "custom") { s = new Date(startVal); e = new Date(endVal); }
  else { s = new Date(now()); e = new Date(now() + Number(forVal) * 3600e3); }
  if (isNaN(s) || isNaN(e)) throw new Error("give a start and an end");
  if (!(e > s)) throw new Error("the end must be after the start");
  return [s, e];
}
