// custos dashboard - the value chart of a check (an ES module; no library).
//
// drawChart(box, items, opt) draws GET /api/v1/checks/{id}/summary's items
// into box: each bucket's average as the line, its min..max as a band, a
// y-scale from the data alone (a load of 1-1.7 fills the height; the
// thresholds are drawn as lines only where they fall inside it), a time
// axis in the browser's local time, the bucket under the pointer in a
// tooltip, and a drag across the chart zooms to that stretch
// (opt.onZoom(t0, t1)). The SVG is drawn at the box's own pixel width, so
// labels are never stretched.
//
// opt: {t0, t1 (ms, the window), step (the bucket's ms), warning, critical
// (Nagios ranges or null), onZoom, marks: [{t (ms), kind: "PROBLEM"|"RECOVERY",
// label}] or null}. Every string in the chart is set as
// text (textContent), never parsed as markup.

const NS = "http://www.w3.org/2000/svg";
const H = 220, ML = 48, MR = 10, MT = 10, MB = 24;

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// the finite bounds of a Nagios range ("10", "10:", "~:10", "10:20", "@10:20")
export function rangeBounds(r) {
  if (typeof r !== "string" || !r) return [];
  const s = r.startsWith("@") ? r.slice(1) : r;
  const [a, b] = s.includes(":") ? s.split(":") : ["0", s];
  const out = [];
  for (const x of [a, b]) {
    if (x === "" || x === "~" || x === undefined) continue;
    const n = Number(x);
    if (Number.isFinite(n)) out.push(n);
  }
  return [...new Set(out)];
}

function niceStep(span, n) {
  const raw = span / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function fmtValue(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a >= 1e6 || (a > 0 && a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toFixed(a >= 100 ? 1 : 3)));
}

const MIN = 60e3, HOUR = 3600e3, DAY = 86400e3;
const TIME_STEPS = [MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR,
  6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

// tick times aligned to local midnight (so 00:00, 06:00, ... are local)
function timeTicks(t0, t1, max) {
  const step = TIME_STEPS.find((s) => (t1 - t0) / s <= max) || 14 * DAY;
  const mid = new Date(t0);
  mid.setHours(0, 0, 0, 0);
  let t = mid.getTime();
  const out = [];
  if (step >= DAY) {
    const d = new Date(mid);
    while (d.getTime() < t0) d.setDate(d.getDate() + 1);
    for (; d.getTime() <= t1; d.setDate(d.getDate() + step / DAY)) out.push([d.getTime(), step]);
    return out;
  }
  t += Math.ceil((t0 - t) / step) * step;
  for (; t <= t1; t += step) out.push([t, step]);
  return out;
}

function two(n) { return String(n).padStart(2, "0"); }

export function fmtTick(t, step) {
  const d = new Date(t);
  const hm = two(d.getHours()) + ":" + two(d.getMinutes());
  const day = d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  if (step >= DAY) return day;
  if (d.getHours() === 0 && d.getMinutes() === 0) return day;
  return hm;
}

export function fmtLocal(t) {
  const d = new Date(t);
  return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " "
    + two(d.getHours()) + ":" + two(d.getMinutes());
}

export function drawChart(box, items, opt) {
  const W = Math.max(280, Math.round(box.clientWidth || 600));
  const { t0, t1, step } = opt;
  const pts = items.filter((i) => typeof i.avg === "number")
    .map((i) => ({ t: Date.parse(i.start) + step / 2, avg: i.avg,
      min: typeof i.min === "number" ? i.min : i.avg, max: typeof i.max === "number" ? i.max : i.avg,
      count: i.count }))
    .sort((a, b) => a.t - b.t);
  const svg = el("svg", { class: "chart", width: W, height: H, viewBox: "0 0 " + W + " " + H,
    role: "img", "data-points": pts.length, "aria-label": "value chart" });
  const tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.id = "chart-tip";
  tip.hidden = true;
  const wrap = document.createElement("div");
  wrap.className = "chart-wrap";
  wrap.append(svg, tip);
  box.replaceChildren(wrap);
  if (!pts.length) {
    svg.append(el("text", { x: ML, y: H / 2, class: "empty" }, "no values in this range"));
    return svg;
  }
  let lo = Math.min(...pts.map((p) => p.min)), hi = Math.max(...pts.map((p) => p.max));
  if (hi === lo) {
    const d = Math.abs(hi) * 0.1 || 1;
    lo -= d; hi += d;
  } else {
    const pad = (hi - lo) * 0.08;
    lo -= pad; hi += pad;
  }
  const ys = niceStep(hi - lo, 4);
  lo = Math.floor(lo / ys) * ys;
  hi = Math.ceil(hi / ys) * ys;
  const X = (t) => ML + ((t - t0) / Math.max(1, t1 - t0)) * (W - ML - MR);
  const Y = (v) => MT + (1 - (v - lo) / (hi - lo)) * (H - MT - MB);
  const T = (x) => t0 + ((x - ML) / (W - ML - MR)) * (t1 - t0);

  // y grid and labels
  const gy = el("g", { class: "yaxis" });
  for (let v = lo; v <= hi + ys / 2; v += ys) {
    const y = Y(v).toFixed(1);
    gy.append(el("line", { x1: ML, x2: W - MR, y1: y, y2: y, class: "grid" }));
    gy.append(el("text", { x: ML - 4, y: Number(y) + 3, "text-anchor": "end" }, fmtValue(v)));
  }
  svg.append(gy);
  // x axis in local time
  const gx = el("g", { class: "xaxis" });
  for (const [t, s] of timeTicks(t0, t1, Math.floor((W - ML - MR) / 70))) {
    const x = X(t).toFixed(1);
    const g = el("g", { class: "xtick", "data-t": new Date(t).toISOString() });
    g.append(el("line", { x1: x, x2: x, y1: MT, y2: H - MB, class: "grid" }));
    g.append(el("text", { x, y: H - MB + 14, "text-anchor": "middle" }, fmtTick(t, s)));
    gx.append(g);
  }
  svg.append(gx);
  // the min..max band and the line, broken where buckets are missing
  const runs = [];
  let run = [];
  for (const p of pts) {
    if (run.length && p.t - run[run.length - 1].t > step * 1.5) { runs.push(run); run = []; }
    run.push(p);
  }
  runs.push(run);
  const xy = (t, v) => X(t).toFixed(1) + "," + Y(v).toFixed(1);
  for (const r of runs) {
    if (r.length === 1) {
      const p = r[0], w = Math.max(2, (X(t0 + step) - X(t0)) / 2);
      svg.append(el("rect", { class: "band", x: (X(p.t) - w).toFixed(1), y: Y(p.max).toFixed(1),
        width: (2 * w).toFixed(1), height: Math.max(1, Y(p.min) - Y(p.max)).toFixed(1) }));
      svg.append(el("line", { class: "line", x1: (X(p.t) - w).toFixed(1), x2: (X(p.t) + w).toFixed(1),
        y1: Y(p.avg).toFixed(1), y2: Y(p.avg).toFixed(1) }));
      continue;
    }
    svg.append(el("polygon", { class: "band", points: r.map((p) => xy(p.t, p.max))
      .concat(r.slice().reverse().map((p) => xy(p.t, p.min))).join(" ") }));
    svg.append(el("polyline", { class: "line", points: r.map((p) => xy(p.t, p.avg)).join(" ") }));
  }
  // thresholds: lines, only where they fall inside the data's scale
  for (const [r, cls, name] of [[opt.warning, "thr-w", "warning"], [opt.critical, "thr-c", "critical"]]) {
    for (const b of rangeBounds(r)) {
      if (b < lo || b > hi) continue;
      const y = Y(b).toFixed(1);
      svg.append(el("line", { class: "thr " + cls, x1: ML, x2: W - MR, y1: y, y2: y }));
      svg.append(el("text", { class: "thr-label", x: W - MR - 2, y: Number(y) - 3, "text-anchor": "end" },
        name + " " + fmtValue(b)));
    }
  }
  // marks (a backtest's proposed HARD changes): ticks standing on the time
  // axis, red for a problem, green for a recovery; the label as a tooltip
  for (const m of opt.marks || []) {
    if (!(m.t >= t0 && m.t <= t1)) continue;
    const x = X(m.t).toFixed(1);
    const tick = el("line", { class: "btmark " + (m.kind === "RECOVERY" ? "bt-rec" : "bt-prob"),
      x1: x, x2: x, y1: H - MB - 12, y2: H - MB, "data-t": new Date(m.t).toISOString() });
    tick.append(el("title", {}, m.label));
    svg.append(tick);
  }
  // hover: the nearest bucket; drag: zoom
  const rule = el("line", { class: "rule", y1: MT, y2: H - MB, x1: -10, x2: -10 });
  const sel = el("rect", { class: "zoomsel", y: MT, height: H - MT - MB, x: 0, width: 0 });
  svg.append(rule, sel);
  const ox = (ev) => {
    const r = svg.getBoundingClientRect();
    return Math.min(W - MR, Math.max(ML, (ev.clientX - r.left) * (W / Math.max(1, r.width))));
  };
  let dragX = null;
  svg.addEventListener("mousemove", (ev) => {
    const x = ox(ev), t = T(x);
    let best = pts[0];
    for (const p of pts) if (Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
    const bx = X(best.t);
    rule.setAttribute("x1", bx.toFixed(1));
    rule.setAttribute("x2", bx.toFixed(1));
    tip.hidden = false;
    tip.dataset.t = new Date(best.t).toISOString();
    tip.dataset.avg = String(best.avg);
    tip.replaceChildren(
      Object.assign(document.createElement("b"), { textContent: fmtLocal(best.t - step / 2) }),
      document.createElement("br"),
      "avg " + fmtValue(best.avg) + " · min " + fmtValue(best.min) + " · max " + fmtValue(best.max)
        + " · " + best.count + (best.count === 1 ? " result" : " results"));
    // beside the rule, on the side with room (in the box's own pixels)
    const scale = svg.getBoundingClientRect().width / W || 1;
    if (bx > W / 2) { tip.style.left = ""; tip.style.right = ((W - bx) * scale + 8) + "px"; }
    else { tip.style.right = ""; tip.style.left = (bx * scale + 8) + "px"; }
    if (dragX !== null) {
      sel.setAttribute("x", Math.min(dragX, x).toFixed(1));
      sel.setAttribute("width", Math.abs(x - dragX).toFixed(1));
    }
  });
  svg.addEventListener("mouseleave", () => {
    tip.hidden = true;
    rule.setAttribute("x1", -10);
    rule.setAttribute("x2", -10);
  });
  svg.addEventListener("mousedown", (ev) => { ev.preventDefault(); dragX = ox(ev); });
  window.addEventListener("mouseup", function up(ev) {
    if (!svg.isConnected) { window.removeEventListener("mouseup", up); return; }
    if (dragX === null) return;
    const x = ox(ev), a = Math.min(dragX, x), b = Math.max(dragX, x);
    dragX = null;
    sel.setAttribute("width", 0);
    if (b - a >= 6 && opt.onZoom) opt.onZoom(Math.round(T(a)), Math.round(T(b)));
  });
  return svg;
}
