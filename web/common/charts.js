/* Small canvas charts: lines over time and grouped bars. No libraries. */
"use strict";

const Charts = (() => {
  function setup(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 300, h = canvas.clientHeight || 140;
    if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
    if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = "10px system-ui, sans-serif";
    return { g, w, h };
  }

  const LEFT = 58; /* room for a tick label with its unit */

  function axis(g, w, h, max, fmt) {
    g.strokeStyle = "#e3e6eb";
    g.fillStyle = "#6b7280";
    for (let i = 0; i <= 2; i++) {
      const y = 8 + (h - 24) * i / 2;
      g.beginPath(); g.moveTo(LEFT, y); g.lineTo(w - 4, y); g.stroke();
      g.fillText(fmt(max * (2 - i) / 2), 2, y + 3);
    }
  }

  /* series: [{values: [...], color}] of ONE unit, drawn against one axis
     whose tick labels opts.fmt writes with that unit (opts.min: the
     smallest top of the scale, so that a flat zero line reads as zero). A
     chart per unit: never two quantities on one scale. */
  function lines(canvas, series, opts = {}) {
    const { g, w, h } = setup(canvas);
    const fmt = opts.fmt || (v => String(Math.round(v)));
    const max = Math.max(opts.min || 1e-9, ...series.flatMap(s => s.values));
    axis(g, w, h, max, fmt);
    let points = 0, nonzero = 0;
    for (const s of series) {
      const n = s.values.length;
      g.strokeStyle = s.color;
      g.lineWidth = 1.5;
      g.beginPath();
      s.values.forEach((v, i) => {
        const x = LEFT + (w - LEFT - 4) * (n > 1 ? i / (n - 1) : 1);
        const y = 8 + (h - 24) * (1 - v / max);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
        if (v > 0) nonzero++;
      });
      g.stroke();
      points += n;
    }
    canvas.dataset.points = String(points);
    canvas.dataset.nonzero = String(nonzero);
    canvas.dataset.max = String(max);
  }

  /* groups: labels[]; series: [{values, color}] drawn side by side. */
  function bars(canvas, labels, series, opts = {}) {
    const { g, w, h } = setup(canvas);
    const fmt = opts.fmt || (v => String(Math.round(v)));
    const max = Math.max(1, ...series.flatMap(s => s.values));
    axis(g, w, h, max, fmt);
    const n = labels.length, gw = (w - LEFT - 4) / n, bw = gw / (series.length + 1);
    let drawn = 0;
    labels.forEach((lab, i) => {
      series.forEach((s, k) => {
        const v = s.values[i] || 0, bh = (h - 24) * v / max;
        g.fillStyle = s.color;
        g.fillRect(LEFT + i * gw + bw * (k + 0.5), h - 16 - bh, bw * 0.9, bh);
        if (v > 0) drawn++;
      });
      g.fillStyle = "#6b7280";
      g.fillText(lab, LEFT + i * gw + 2, h - 4);
    });
    canvas.dataset.points = String(labels.length * series.length);
    canvas.dataset.nonzero = String(drawn);
  }

  return { lines, bars };
})();
