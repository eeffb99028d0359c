// A histogram of incidents over time drawn in SVG; dragging across it selects a period (a "brush") that
// filters the map and the list. Bins are days, weeks or months depending on the span shown.

import { fmtDay, t } from "./core.js";

const DAY = 86400000;
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function dayOf(rec) {
  return rec.date ? Date.parse(rec.date.length === 4 ? `${rec.date}-07-01` : rec.date.length === 7 ? `${rec.date}-15` : rec.date) : null;
}

export class Timeline {
  constructor(svgNode, onBrush) {
    this.node = svgNode;
    this.onBrush = onBrush;
    this.range = null;
    this.selection = null;
    this.drag = null;
    this.node.addEventListener("pointerdown", (e) => this.start(e));
    this.node.addEventListener("pointermove", (e) => this.move(e));
    this.node.addEventListener("pointerup", (e) => this.end(e));
    this.node.addEventListener("pointerleave", (e) => this.drag && this.end(e));
    window.addEventListener("resize", () => this.records && this.draw(this.records));
  }

  binSize(span) {
    if (span <= 120 * DAY) return { ms: DAY, key: "day" };
    if (span <= 3 * 365 * DAY) return { ms: 7 * DAY, key: "week" };
    return { ms: 30.44 * DAY, key: "month" };
  }

  draw(records) {
    this.records = records;
    const times = records.map(dayOf).filter((x) => x !== null);
    this.node.replaceChildren();
    const width = this.node.clientWidth || 600;
    const height = 120;
    this.node.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.node.setAttribute("height", height);
    if (!times.length) {
      const txt = svg("text", { x: 10, y: 60, class: "muted" });
      txt.textContent = t("timeline.none");
      this.node.append(txt);
      return;
    }
    let lo = Math.min(...times);
    let hi = Math.max(...times) + DAY;
    if (hi - lo < 14 * DAY) lo = hi - 14 * DAY;
    const bin = this.binSize(hi - lo);
    const n = Math.max(1, Math.ceil((hi - lo) / bin.ms));
    const counts = new Array(n).fill(0);
    for (const x of times) counts[Math.min(n - 1, Math.floor((x - lo) / bin.ms))] += 1;
    const max = Math.max(...counts);
    const pad = { l: 28, r: 8, t: 8, b: 22 };
    const w = (width - pad.l - pad.r) / n;
    this.range = { lo, hi, pad, width, height, bin };
    const axis = svg("g", { class: "axis" });
    const yLabel = svg("text", { x: 4, y: pad.t + 8 });
    yLabel.textContent = String(max);
    axis.append(yLabel, svg("line", { x1: pad.l, x2: width - pad.r, y1: height - pad.b, y2: height - pad.b }));
    for (const frac of [0, 0.5, 1]) {
      const label = svg("text", {
        x: pad.l + frac * (width - pad.l - pad.r),
        y: height - 6,
        "text-anchor": frac === 0 ? "start" : frac === 1 ? "end" : "middle",
      });
      label.textContent = fmtDay(new Date(lo + frac * (hi - lo - DAY)).toISOString().slice(0, 10));
      axis.append(label);
    }
    this.node.append(axis);
    const bars = svg("g", { class: "bars" });
    counts.forEach((c, i) => {
      if (!c) return;
      const h = ((height - pad.t - pad.b) * c) / max;
      const r = svg("rect", {
        x: pad.l + i * w + 0.5,
        y: height - pad.b - h,
        width: Math.max(1, w - 1),
        height: h,
      });
      const title = svg("title");
      title.textContent = `${fmtDay(new Date(lo + i * bin.ms).toISOString().slice(0, 10))}: ${c}`;
      r.append(title);
      bars.append(r);
    });
    this.node.append(bars);
    this.brushRect = svg("rect", { class: "brush", y: pad.t, height: height - pad.t - pad.b, x: 0, width: 0 });
    this.node.append(this.brushRect);
    if (this.selection) this.paint();
  }

  timeAt(evt) {
    const box = this.node.getBoundingClientRect();
    const { lo, hi, pad, width } = this.range;
    const x = ((evt.clientX - box.left) / box.width) * width;
    const frac = Math.min(1, Math.max(0, (x - pad.l) / (width - pad.l - pad.r)));
    return lo + frac * (hi - lo);
  }

  start(evt) {
    if (!this.range) return;
    this.node.setPointerCapture?.(evt.pointerId);
    this.drag = this.timeAt(evt);
    this.selection = [this.drag, this.drag];
    this.paint();
  }

  move(evt) {
    if (this.drag === null || this.drag === undefined) return;
    const x = this.timeAt(evt);
    this.selection = [Math.min(this.drag, x), Math.max(this.drag, x)];
    this.paint();
  }

  end(evt) {
    if (this.drag === null || this.drag === undefined) return;
    this.move(evt);
    this.drag = null;
    if (this.selection[1] - this.selection[0] < DAY / 2) {
      this.clear();
      return;
    }
    // snap to whole days
    const a = Math.floor(this.selection[0] / DAY) * DAY;
    const b = Math.ceil(this.selection[1] / DAY) * DAY - DAY;
    this.selection = [a, Math.max(a, b)];
    this.paint();
    this.onBrush(this.selection);
  }

  paint() {
    if (!this.range || !this.brushRect) return;
    const { lo, hi, pad, width } = this.range;
    const sx = (x) => pad.l + ((x - lo) / (hi - lo)) * (width - pad.l - pad.r);
    const [a, b] = this.selection;
    this.brushRect.setAttribute("x", sx(a));
    this.brushRect.setAttribute("width", Math.max(2, sx(b + DAY) - sx(a)));
  }

  clear() {
    this.selection = null;
    this.drag = null;
    if (this.brushRect) this.brushRect.setAttribute("width", 0);
    this.onBrush(null);
  }
}

export function inSelection(rec, selection) {
  if (!selection) return true;
  const x = dayOf(rec);
  return x !== null && x >= selection[0] && x <= selection[1];
}

export function selectionLabel(selection) {
  if (!selection) return "";
  const iso = (x) => new Date(x).toISOString().slice(0, 10);
  return t("timeline.selected", { from: fmtDay(iso(selection[0])), to: fmtDay(iso(selection[1])) });
}

