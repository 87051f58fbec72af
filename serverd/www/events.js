// custos dashboard - the events and notifications views (?view=events,
// ?view=notifications): filters, paging back through all history.

import { S } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, absTime, fmtNum, h, localTime, main, matches, put, qget, qset, ready, str } from "/ui/dom.js";
import { renderEvents } from "/ui/overview.js";
import { route } from "/ui/app.js";

//
// The events API pages forwards (since_id, oldest first); the page walks
// backwards in windows of ids, newest first, keeping what the filters
// pass, until it has a page to show or reaches the oldest event.

export const KINDS = ["PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT", "FLAPPING START", "FLAPPING STOP", "DOWNTIME START",
  "DOWNTIME END", "AGENT DOWN", "AGENT UP", "RENOTIFY"];

export function eventPasses(e) {
  const q = S.eventsQuery || {};
  if (q.agent && !str(e.agent).toLowerCase().includes(q.agent.toLowerCase())) return false;
  if (q.check && !str(e.check).toLowerCase().includes(q.check.toLowerCase())) return false;
  const t = Date.parse(e.created_at);
  if (q.from && t < q.from) return false;
  if (q.to && t > q.to) return false;
  if (S.filter && !matches(e.agent, e.check, e.kind, e.output, e.detail && e.detail.comment)) return false;
  return true;
}

export async function eventsPage(first) {
  const q = S.eventsQuery;
  const want = S.events.length + 100;
  let before = S.eventsBefore;
  const kind = q.kind ? "&kind=" + encodeURIComponent(q.kind) : "";
  let windows = 0;
  // the stream's frames may have brought some of these already
  const have = new Set(S.eventsBuf.map((e) => e.id));
  while (S.eventsBuf.length < want && before > 0 && windows < 40) {
    const from = Math.max(0, before - 1000);
    const j = await api("GET", "/api/v1/events?since_id=" + from + "&limit=1000" + kind);
    const got = j.items.filter((e) => e.id <= before).reverse();
    for (const e of got) if (eventPasses(e) && !have.has(e.id)) S.eventsBuf.push(e);
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

export async function renderEventsView() {
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

export async function loadEvents() {
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
export function notificationRow(n) {
  return h("tr", { "data-notification-id": n.id },
    h("td", { title: absTime(n.created_at) }, localTime(n.created_at)), h("td", {}, str(n.kind)),
    h("td", {}, n.check_id ? h("a", { href: "/checks/" + n.check_id, "data-nav": true }, str(n.agent) + "/" + str(n.check)) : str(n.agent)),
    h("td", { class: "hide-s" }, str(n.channel)), h("td", { class: "hide-s" }, str(n.contact, "—")), h("td", {}, str(n.status)),
    h("td", { class: "hide-s" }, str(n.attempts, "0")),
    h("td", { class: "out hide-s" }, str(n.last_error)));
}

export async function notificationsPage(tbody, more) {
  const q = "/api/v1/notifications?limit=200" + (qget("status") ? "&status=" + encodeURIComponent(qget("status")) : "")
    + (qget("channel") ? "&channel=" + encodeURIComponent(qget("channel")) : "")
    + (S.notesCursor ? "&cursor=" + encodeURIComponent(S.notesCursor) : "");
  const j = await api("GET", q);
  tbody.append(...j.items.filter((n) => matches(n.agent, n.check, n.contact, n.channel, n.status, n.last_error)).map(notificationRow));
  S.notesCursor = j.next;
  more.hidden = !j.next;
}

export async function renderNotificationsView() {
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
      h("label", {}, "Status ", sel("nf-status", "status", ["", "pending", "sent", "failed", "dropped"])), " ",
      h("label", {}, "Channel ", sel("nf-channel", "channel", ["", "email", "pushover", "webhook"]))),
    h("table", { id: "notifications" }, h("thead", {}, h("tr", {},
      h("th", {}, "Created"), h("th", {}, "Kind"), h("th", {}, "Agent/check"), h("th", { class: "hide-s" }, "Channel"), h("th", { class: "hide-s" }, "Contact"),
      h("th", {}, "Status"), h("th", { class: "hide-s" }, "Attempts"), h("th", { class: "hide-s" }, "Last error"))), tbody),
    more);
  await notificationsPage(tbody, more);
}
