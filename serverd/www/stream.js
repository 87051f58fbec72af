// custos dashboard - the live stream. One SharedWorker (stream-worker.js)
// holds it for every tab of the browser; where a browser has none the tab
// holds its own EventSource. A frame updates the view on screen (onCheck,
// onAgent, onEvent); after a break the view re-reads what it missed
// (reloadData).

import { S } from "/ui/state.js";
import { api } from "/ui/api.js";
import { $, dur } from "/ui/dom.js";
import { showLogin } from "/ui/login.js";
import { addEvent, agentDown, agentName, loadDownChecks, loadOverviewData, renderAgents, renderCounts, renderEvents, renderProblems } from "/ui/overview.js";
import { loadHosts } from "/ui/hosts.js";
import { loadCheck, renderCheckState } from "/ui/check.js";
import { renderAgentPage } from "/ui/agent.js";
import { eventPasses } from "/ui/events.js";

// The stream is closed on pagehide (app.js): a page left for the
// back/forward cache keeps no connection open.

export function setLive(up) {
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

export function onStream(m) {
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

export function connect(restart) {
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

export function streamStop() {
  if (S.stream) { S.stream.stop(); S.stream = null; }
}


export function onCheck(c) {
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

export function onAgent(a) {
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

export function onEvent(e) {
  if (S.view === "check" && e.check_id === S.viewId) {
    if (!addEvent(S.events, e)) return;
    if (e.kind === "ACKNOWLEDGEMENT") S.ackInfo = e.detail;
    renderEvents();
    if (S.check) renderCheckState(S.check);
  }
  if (S.view === "overview" && addEvent(S.events, e)) {
    if (S.events.length > 500) S.events.length = 500;
    renderEvents();
  }
  if (S.view === "events" && eventPasses(e) && !S.eventsQuery.to && (!S.eventsQuery.kind || e.kind === S.eventsQuery.kind) &&
      addEvent(S.eventsBuf, e)) {
    S.events.unshift(e);
    renderEvents();
  }
}

// After a change arrives, re-read what the frames do not carry (downtimes,
// counts of OK checks): at most once a second, and only when something
// changed.
export function scheduleRefresh() {
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
export function reloadData() {
  if (!S.me) return;
  if (S.view === "overview" || S.view === "wall") loadOverviewData(false).catch(() => scheduleRefresh());
  else if (S.view === "check") loadCheck(S.viewId).catch(() => {});
  else if (S.view === "agent") renderAgentPage(S.viewId, true).catch(() => {});
  else if (S.view === "hosts") loadHosts().catch(() => {});
}
