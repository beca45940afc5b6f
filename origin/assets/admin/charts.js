// Line charts as inline SVG, for the operator console. No library: one function that draws
// series of [time ms, value] points into a <figure>, with a legend and a caption that states
// the latest values in words (the chart's text alternative).
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 320, H = 140, L = 40, R = 6, T = 8, B = 18;

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  /** A round upper bound for the y axis: 1, 2 or 5 × 10^n; for bytes 2^k × 1024^n, so the
   * axis reads 512 MiB, 1 GiB… */
  function niceMax(v, unit) {
    if (!(v > 0)) return 1;
    if (unit === "bytes") {
      const p = Math.pow(1024, Math.floor(Math.log(v) / Math.log(1024)));
      let m = 1;
      while (m * p < v) m *= 2;
      return m * p;
    }
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function fmt(v, unit) {
    if (v == null || !isFinite(v)) return "no data";
    if (unit === "%") return (v * 100).toFixed(v >= 0.995 || v === 0 ? 0 : 1) + " %";
    if (unit === "bytes") {
      const u = ["B", "KiB", "MiB", "GiB", "TiB"];
      let i = 0;
      while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
      return (i && v < 100 ? Number(v.toFixed(1)) : Math.round(v)) + " " + u[i];
    }
    const s = Math.abs(v) >= 100 ? String(Math.round(v)) : Math.abs(v) >= 10 ? v.toFixed(1) : String(Number(v.toFixed(2)));
    return unit ? s + " " + unit : s;
  }

  /** The path of one series: `M x y L x y…`, a new `M` after each gap (null value). */
  function pathOf(points, x, y) {
    let d = "", pen = false;
    for (const [t, v] of points) {
      if (v == null || !isFinite(v)) { pen = false; continue; }
      d += (pen ? "L" : "M") + x(t).toFixed(1) + " " + y(v).toFixed(1);
      pen = true;
    }
    return d;
  }

  /**
   * Draws `series` ([{name, points: [[t, v]…], dashed?}]) into `figure` (replacing what was
   * there): `title`, `unit` ("%", "bytes", "ms", "/s"…), `max` (fixed top of the y axis,
   * e.g. 1 for shares).
   */
  function line(figure, { title, unit, max, series }) {
    const id = figure.id;
    let cap = figure.querySelector("figcaption");
    let t0 = Infinity, t1 = -Infinity, top = 0;
    for (const s of series) for (const [t, v] of s.points) {
      if (t < t0) t0 = t;
      if (t > t1) t1 = t;
      if (v != null && isFinite(v) && v > top) top = v;
    }
    const yMax = max != null ? Math.max(max, top) : niceMax(top, unit);
    const span = t1 > t0 ? t1 - t0 : 1;
    const x = (t) => L + ((t - t0) / span) * (W - L - R);
    const y = (v) => T + (1 - v / yMax) * (H - T - B);

    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": id + "-cap", focusable: "false" });
    const grid = el("g", { class: "grid" }, svg);
    for (const f of [0, 0.5, 1]) {
      const v = yMax * f;
      el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v) }, grid);
      el("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, grid).textContent = fmt(v, unit === "bytes" || unit === "%" ? unit : "");
    }
    if (t1 > t0) {
      const secs = Math.round(span / 1000);
      el("text", { x: L, y: H - 4 }, grid).textContent = `−${secs} s`;
      el("text", { x: W - R, y: H - 4, "text-anchor": "end" }, grid).textContent = "now";
    }
    series.forEach((s, i) => {
      const d = pathOf(s.points, x, y);
      if (d) el("path", { d, class: `s${i % 6}${s.dashed ? " dashed" : ""}`, "data-series": s.name }, svg);
      // A lone sample (the first one) has no line yet: a dot shows where it is.
      if (d && !d.includes("L")) {
        const [, px, py] = /M([\d.-]+) ([\d.-]+)/.exec(d);
        el("circle", { cx: px, cy: py, r: 2.5, class: `dot k${i % 6}` }, svg);
      }
    });

    const legend = document.createElement("ul");
    legend.className = "legend";
    const words = [];
    series.forEach((s, i) => {
      const last = s.points.length ? s.points[s.points.length - 1][1] : null;
      const li = document.createElement("li");
      li.className = `k${i % 6}`;
      li.textContent = `${s.name}: ${fmt(last, unit)}`;
      legend.appendChild(li);
      words.push(`${s.name} ${fmt(last, unit)}`);
    });
    if (!series.length) words.push("no data yet");

    const old = figure.querySelector("svg");
    const oldLegend = figure.querySelector("ul.legend");
    if (!cap) { cap = document.createElement("figcaption"); figure.appendChild(cap); }
    cap.id = id + "-cap";
    cap.textContent = "";
    const strong = document.createElement("strong");
    strong.textContent = title;
    cap.append(strong, document.createTextNode(" — latest: " + words.join("; ")));
    figure.classList.remove("off");
    if (old) old.replaceWith(svg); else figure.insertBefore(svg, cap);
    if (oldLegend) oldLegend.replaceWith(legend); else svg.after(legend);
  }

  /** Replaces the figure's chart with a sentence (a panel whose data is not available). */
  function unavailable(figure, title, why) {
    for (const e of figure.querySelectorAll("svg, ul.legend")) e.remove();
    let cap = figure.querySelector("figcaption");
    cap.textContent = "";
    const strong = document.createElement("strong");
    strong.textContent = title;
    cap.append(strong, document.createTextNode(" — " + why));
    figure.classList.add("off");
  }

  window.Charts = { line, unavailable, fmt };
})();
