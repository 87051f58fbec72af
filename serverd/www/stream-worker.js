// custos dashboard - the one live stream of a browser (a SharedWorker).
//
// A browser opens about six HTTP/1.1 connections to one server; with one
// /api/v1/stream per tab the seventh tab's requests queued behind the
// streams for ever, and the back/forward cache kept streams of pages left
// behind open. So every tab of the dashboard connects to this worker, which
// holds the single EventSource and posts each frame to every tab:
//
//   tab -> worker: "hello" (a tab joined), "bye" (its pagehide), "restart"
//                  (a new session: open the stream again)
//   worker -> tab: {type: "up", again} (open; again: after a break, so the
//                  tab re-reads /api/v1/status for what it missed),
//                  {type: "down"}, {type: "closed"} (the server refused the
//                  stream: the tab asks /api/v1/session why),
//                  {type: "check"|"agent"|"event"|"reset", data}
//
// The stream is closed when the last tab says "bye", so no connection is
// left half-open for the server to find on its next heartbeat. An
// EventSource the server refuses (a restarting serverd answers nothing or
// 503) is not retried by the browser: the worker opens a new one after
// RETRY_MS, and says "up" with again=true when it is back.

const RETRY_MS = 2000;
const ports = new Set();
let es = null, wasUp = false, broken = false, retry = null, state = null;

function post(msg) {
  for (const p of ports) p.postMessage(msg);
}

function open() {
  if (retry) { clearTimeout(retry); retry = null; }
  if (es) es.close();
  const src = new EventSource("/api/v1/stream");
  es = src;
  src.onopen = () => {
    state = { type: "up", again: wasUp || broken };
    wasUp = true;
    broken = false;
    post(state);
  };
  src.onerror = () => {
    if (es !== src) return;
    broken = true;
    state = { type: "down" };
    post(state);
    if (src.readyState === EventSource.CLOSED) {
      post({ type: "closed" });
      src.close();
      es = null;
      retry = setTimeout(() => { if (ports.size) open(); }, RETRY_MS);
    }
  };
  for (const kind of ["check", "agent", "event", "reset"]) {
    src.addEventListener(kind, (m) => {
      let data = null;
      try { data = JSON.parse(m.data); } catch (e) { return; }
      post({ type: kind, data });
    });
  }
}

function close() {
  if (retry) { clearTimeout(retry); retry = null; }
  if (es) { es.close(); es = null; }
  wasUp = false;
  broken = false;
  state = null;
}

self.onconnect = (e) => {
  const port = e.ports[0];
  port.onmessage = (m) => {
    const what = m.data && m.data.type;
    if (what === "hello") {
      ports.add(port);
      if (!es && !retry) open();
      else if (state) port.postMessage({ type: state.type, again: false });
    } else if (what === "bye") {
      ports.delete(port);
      if (!ports.size) close();
    } else if (what === "restart") {
      ports.add(port);
      wasUp = false;
      open();
    }
  };
  port.start();
};
