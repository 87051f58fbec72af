// custos dashboard - the check page's threshold editor (admin) and its
// backtest: what proposed thresholds would have caused, before they are
// saved.

import { S } from "/ui/state.js";
import { ApiError, api } from "/ui/api.js";
import { $, absTime, fmtNum, h, localTime, put, stBadge, str } from "/ui/dom.js";
import { loadChart, loadCheck } from "/ui/check.js";

//
// Before a threshold is saved, the editor replays the check's stored results
// under it (POST /api/v1/checks/{id}/backtest, which changes nothing) and
// says what it would have cost: "with warning 80: 14 pages in 30 days
// instead of 3", with the HARD problems, recoveries and flaps of both
// settings. Save PATCHes the check. The editor is drawn once per page, not by
// renderCheckState, so a live update of the check never wipes what is being
// typed. An empty range field means no range (null).

export const BT_WINDOWS = { "24h": "24 hours", "7d": "7 days", "30d": "30 days" };
export const BT_FIELDS = { warning: "thr-warning", critical: "thr-critical", max_attempts: "thr-max", since: "thr-since" };
export const BT_ROWS = [["notifications", "pages (notifications)"], ["hard_problems", "HARD problems"],
  ["recoveries", "recoveries"], ["flaps", "flaps"]];

export const plural = (n, one, many) => fmtNum(n) + " " + (n === 1 ? one : many);
export const rangeText = (r) => (r === null || r === undefined || r === "" ? "none" : String(r));

// "warning ~:85 · critical ~:95 · max attempts 3": the settings as stored
export function thresholdLine(c) {
  return "warning " + rangeText(c.warning) + " · critical " + rangeText(c.critical)
    + " · max attempts " + str(c.max_attempts, "—");
}

export function thresholdEditor(c) {
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

export function fillThresholds(c) {
  $("#thr-warning").value = str(c.warning);
  $("#thr-critical").value = str(c.critical);
  $("#thr-max").value = str(c.max_attempts);
}

export function clearThresholdErrors() {
  for (const id of [...Object.values(BT_FIELDS), "thr"]) {
    const el = $("#" + id + "-error");
    if (el) el.textContent = "";
  }
}

// the API's error next to the field it names (the form's own line otherwise)
export function thresholdError(x) {
  const id = BT_FIELDS[x.field];
  ((id && $("#" + id + "-error")) || $("#thr-error")).textContent = x.message;
}

// the editor's values as the API takes them: "" is no range (null)
export function thresholdBody() {
  const w = $("#thr-warning").value.trim(), cr = $("#thr-critical").value.trim();
  const m = $("#thr-max").value.trim();
  if (!/^[0-9]+$/.test(m)) throw new ApiError(0, "a whole number from 1 to 100", "max_attempts");
  return { warning: w === "" ? null : w, critical: cr === "" ? null : cr, max_attempts: Number(m) };
}

// "with warning 80, max attempts 2": what differs from the current settings
export function proposalWords(p, cur) {
  const parts = [];
  if (p.warning !== cur.warning) parts.push("warning " + rangeText(p.warning));
  if (p.critical !== cur.critical) parts.push("critical " + rangeText(p.critical));
  if (p.max_attempts !== cur.max_attempts) parts.push("max attempts " + str(p.max_attempts));
  return parts.length ? "with " + parts.join(", ") : "with the current thresholds";
}

export async function tryThresholds() {
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

export function renderBacktest(j, since) {
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

export async function saveThresholds() {
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
