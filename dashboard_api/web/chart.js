"use strict";
// Density over the last hours (solid) and the forecast (dashed) on a canvas, with the
// area's own stage boundaries as bands so the eye reads stages, not numbers.
const DEFAULT_THRESHOLDS = { attention: 1.5, caution: 2, alert: 3, serious: 5 };
function stageBands(th) {
  const b = { ...DEFAULT_THRESHOLDS, ...(th || {}) };
  return [[0, "normal"], [b.attention, "attention"], [b.caution, "caution"], [b.alert, "alert"], [b.serious, "serious"]];
}

function historySeries(points) {
  // One value per bucket: the highest density any source reported for it.
  const byBucket = new Map();
  for (const p of points) {
    const ts = Date.parse(p.bucket);
    byBucket.set(ts, Math.max(byBucket.get(ts) ?? 0, p.density_avg));
  }
  return [...byBucket.entries()].sort((a, b) => a[0] - b[0]);
}

function drawChart(canvas, history, state, now, thresholds, hours = 6) {
  const BANDS = stageBands(thresholds);
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const left = 44, right = 12, top = 10, bottom = 26;
  const forecast = (state?.forecast || []).map((f) => [Date.parse(state.as_of) + f.horizon_min * 60000, f.density_per_m2]);
  const all = [...history, ...forecast];
  const t0 = now - hours * 3600000;
  const t1 = Math.max(now, ...forecast.map((p) => p[0]));
  const yMax = Math.max(BANDS[3][0] + 0.5, ...all.map((p) => p[1] * 1.15));
  const x = (ts) => left + ((ts - t0) / (t1 - t0)) * (w - left - right);
  const y = (d) => top + (1 - d / yMax) * (h - top - bottom);
  BANDS.forEach(([lo, stage], i) => {
    const hi = i + 1 < BANDS.length ? BANDS[i + 1][0] : yMax;
    if (lo >= yMax) return;
    g.fillStyle = STAGE_COLORS[stage] + "22";
    g.fillRect(left, y(Math.min(hi, yMax)), w - left - right, y(lo) - y(Math.min(hi, yMax)));
  });
  g.strokeStyle = "#8b949e"; g.fillStyle = "#c9d1d9"; g.font = "12px system-ui, sans-serif"; g.lineWidth = 1;
  for (let d = 0; d <= yMax; d += yMax > 6 ? 2 : 1) {
    g.fillText(d.toFixed(0), 8, y(d) + 4);
    g.beginPath(); g.moveTo(left, y(d)); g.lineTo(w - right, y(d)); g.globalAlpha = 0.25; g.stroke(); g.globalAlpha = 1;
  }
  const step = (hours > 6 ? 3 : 1) * 3600000;
  for (let ts = Math.ceil(t0 / step) * step; ts <= t1; ts += step) {
    const label = kstTime(ts, false);
    g.fillText(label, x(ts) - 16, h - 8);
  }
  const line = (pts, color, dash) => {
    if (!pts.length) return;
    g.setLineDash(dash); g.strokeStyle = color; g.lineWidth = 2.5; g.beginPath();
    pts.forEach(([ts, d], i) => (i ? g.lineTo(x(ts), y(d)) : g.moveTo(x(ts), y(d))));
    g.stroke(); g.setLineDash([]);
  };
  const recent = history.filter((p) => p[0] >= t0);
  line(recent, "#58a6ff", []);
  if (state) line([[Date.parse(state.as_of), state.density_per_m2], ...forecast], "#f0f6fc", [6, 5]);
  g.strokeStyle = "#f0f6fc88"; g.beginPath(); g.moveTo(x(now), top); g.lineTo(x(now), h - bottom); g.stroke();
  // What the tooltip reads: every drawn point with its screen x.
  canvas.cpPoints = [...recent.map((p) => [...p, "measured"]), ...forecast.map((p) => [...p, "forecast"])]
    .map(([ts, d, kind]) => ({ px: x(ts), ts, d, kind, stage: stageOf(d, BANDS) }));
}

function stageOf(d, bands) {
  let stage = "normal";
  for (const [lo, s] of bands) if (d >= lo) stage = s;
  return stage;
}

// Hovering the chart shows the nearest point: time (KST), density and its stage.
function attachChartTooltip(canvas, tip) {
  canvas.addEventListener("mousemove", (ev) => {
    const pts = canvas.cpPoints || [];
    const px = ev.offsetX;
    const near = pts.reduce((best, p) => (!best || Math.abs(p.px - px) < Math.abs(best.px - px) ? p : best), null);
    if (!near || Math.abs(near.px - px) > 30) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.textContent = `${kstTime(near.ts, false)} KST · ${near.d.toFixed(2)}${t("perM2")} · ${stageLabel(near.stage)}`
      + (near.kind === "forecast" ? ` (${t("forecast")})` : "");
    tip.style.left = `${Math.min(ev.offsetX + 12, canvas.clientWidth - 200)}px`;
    tip.style.top = `${ev.offsetY + 12}px`;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
}
