/* wirekit lab dashboard: DOM and chart helpers (text is always set as text, never parsed as HTML). */
/* global document, Node, ResizeObserver, uPlot */

/** uPlot instances by key. */
const charts = {};
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
export const $ = (id) => document.getElementById(id);
export const fmtTime = (at) => new Date(at).toLocaleTimeString([], { hour12: false });
export const fmtNum = (n) => (typeof n === "number" ? n.toLocaleString("en-US", { maximumFractionDigits: 2 }) : "–");
export function fmtBytes(n) {
  if (typeof n !== "number") return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${u[i]}`;
}
export const fmtMs = (ms) => (typeof ms === "number" ? (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)) + " ms" : "–");
export function stat(id, label, cls) {
  return h("div", { class: `stat ${cls || ""}` }, h("span", { class: "v", id, "data-testid": id }, "–"), h("span", { class: "k" }, label));
}
export function setText(id, text) {
  const el = $(id);
  if (el && el.textContent !== String(text)) el.textContent = String(text);
}
export function table(id, columns) {
  return h("div", { class: "scroll" }, h("table", { id }, h("thead", {}, h("tr", {}, columns.map(([label, num]) => h("th", { class: num ? "num" : "" }, label)))), h("tbody")));
}
export function fillTable(id, rows, empty) {
  const tbody = document.querySelector(`#${id} tbody`);
  if (!tbody) return;
  const cols = document.querySelectorAll(`#${id} thead th`).length;
  tbody.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: cols, class: "empty" }, empty))]));
}
export const td = (v, cls) => h("td", { class: cls || "" }, v);
export const statusClass = (s) => `s${String(s).charAt(0)}`;

// ---- charts ----
export function chart(key, el, series, opts) {
  const make = () => {
    const width = Math.max(200, el.clientWidth || 400);
    const u = new uPlot({
      width, height: (opts && opts.height) || 180,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      // A lone point would make uPlot span years; show at least the last minute instead.
      scales: {
        x: { time: true, range: (_u, min, max) => (min === null || max - min < 60 ? [(max ?? Date.now() / 1000) - 60, (max ?? Date.now() / 1000) + 1] : [min, max]) },
        // A count chart with nothing to count (no loss) shows 0..yMin, not uPlot's default 0..100.
        ...(opts && opts.yMin !== undefined ? { y: { range: (_u, _min, max) => [0, Math.max(opts.yMin, max ?? 0) * (max > opts.yMin ? 1.1 : 1)] } } : {}),
      },
      axes: [{ stroke: "#6b7686", grid: { stroke: "#eef0f4" } }, { stroke: "#6b7686", grid: { stroke: "#eef0f4" }, size: 50, label: opts && opts.yLabel, labelSize: 14 }],
      series: [{}, ...series],
    }, [[], ...series.map(() => [])], el);
    charts[key] = u;
    new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: (opts && opts.height) || 180 })).observe(el);
  };
  if (typeof uPlot === "function") make();
}
export function setChart(key, data) {
  const u = charts[key];
  if (u) u.setData(data);
}
export const line = (label, stroke, fill) => ({ label, stroke, width: 1.6, fill, points: { show: false } });
