// custos dashboard - the page's small tools: h() and put() (every server
// string goes into the DOM as text, never as HTML), times and ages, badges,
// the URL's query (qget/qset), navigation (nav) and ready(), which tells a
// test or a bench that a view is drawn.

import { S } from "/ui/state.js";
import { route } from "/ui/app.js";

export const $ = (sel, el = document) => el.querySelector(sel);
export const main = () => $("#main");
export const SEV = { CRITICAL: 0, UNKNOWN: 1, WARNING: 2 };

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

// replaceChildren() that skips null, undefined and false (which
// replaceChildren itself would show as the text "null")
export function put(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
}

// a server string for the page: never "null" or "undefined"
export const str = (x, dflt = "") => (x === null || x === undefined ? dflt : String(x));


export const now = () => Date.now() + S.clockOffset;

export function dur(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return d + " d " + hh + " h";
  if (hh) return hh + " h " + m + " min";
  if (m) return m + " min";
  return s + " s";
}

export function absTime(t) {
  if (!t) return "";
  const d = new Date(t);
  if (isNaN(d)) return "";
  return d.toISOString().replace(".000Z", "Z") + " (local " + d.toLocaleString() + ")";
}

export function localTime(t) {
  const d = new Date(t);
  return t && !isNaN(d) ? d.toLocaleString() : "—";
}

export function age(t, prefix = "for ") {
  if (!t || isNaN(Date.parse(t))) return h("span", { class: "age muted" }, "never");
  return h("time", { class: "age", datetime: t, title: absTime(t), "data-prefix": prefix },
    prefix + dur(now() - Date.parse(t)));
}

export function refreshAges() {
  for (const el of document.querySelectorAll("time.age")) {
    el.textContent = el.dataset.prefix + dur(now() - Date.parse(el.getAttribute("datetime")));
  }
}

export function stBadge(name) {
  const n = name || "PENDING";
  return h("span", { class: "st st-" + n }, n);
}

export function agBadge(state) {
  const s = state || "new";
  return h("span", { class: "st st-" + s }, s.toUpperCase());
}

export function firstLine(s) { return str(s).split("\n")[0]; }

export function fmtNum(n) { return Number(n || 0).toLocaleString("en-US"); }

export function pct(r) {
  return typeof r === "number" && isFinite(r) ? (Math.floor(r * 10000) / 100).toFixed(2) + " %" : "—";
}

export function matches(...fields) {
  if (!S.filter) return true;
  const f = S.filter.toLowerCase();
  return fields.some((x) => str(x).toLowerCase().includes(f));
}

// the URL's query: the view's filters, so a view can be bookmarked
export function qget(k) { return new URLSearchParams(location.search).get(k) || ""; }
export function qset(changes) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) { if (v) q.set(k, v); else q.delete(k); }
  const s = q.toString();
  history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
}

export function nav(path) {
  history.pushState(null, "", path);
  route();
}


export function ready(view) { main().dataset.ready = view; }
