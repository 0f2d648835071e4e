"use strict";
// The hotspot polygons as SVG, projected with a local equirectangular projection
// (longitude scaled by cos(latitude)): exact enough at city scale, no tile server.
const SVG_NS = "http://www.w3.org/2000/svg";

function projection(features, width, height, pad) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const f of features) {
    for (const [lon, lat] of f.geometry.coordinates[0]) {
      x0 = Math.min(x0, lon); x1 = Math.max(x1, lon); y0 = Math.min(y0, lat); y1 = Math.max(y1, lat);
    }
  }
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const scale = Math.min((width - 2 * pad) / ((x1 - x0) * k), (height - 2 * pad) / (y1 - y0));
  const offX = (width - (x1 - x0) * k * scale) / 2, offY = (height - (y1 - y0) * scale) / 2;
  return ([lon, lat]) => [offX + (lon - x0) * k * scale, offY + (y1 - lat) * scale];
}

function drawMap(features, onSelect) {
  const group = document.getElementById("areas");
  group.replaceChildren();
  const project = projection(features, 1000, 760, 24);
  const byCode = {};
  for (const f of features) {
    const poly = document.createElementNS(SVG_NS, "polygon");
    poly.setAttribute("points", f.geometry.coordinates[0].map((p) => project(p).map((v) => v.toFixed(1)).join(",")).join(" "));
    poly.dataset.code = f.id;
    poly.setAttribute("class", "area nodata");
    poly.setAttribute("tabindex", "0");
    const title = document.createElementNS(SVG_NS, "title");
    poly.appendChild(title);
    poly.addEventListener("click", () => onSelect(f.id));
    poly.addEventListener("keydown", (e) => { if (e.key === "Enter") onSelect(f.id); });
    group.appendChild(poly);
    byCode[f.id] = poly;
  }
  return byCode;
}

function paintArea(poly, area, state, stale, selected) {
  const stage = state ? state.stage : null;
  poly.setAttribute("class", `area ${stage ? "stage-" + stage : "nodata"}${stale ? " stale" : ""}${selected ? " selected" : ""}`);
  poly.dataset.stage = stage || "none";
  const name = lang === "ko" ? area.name_ko : area.name_en;
  const density = state ? ` ${state.density_per_m2.toFixed(2)}${t("perM2")}` : "";
  poly.firstChild.textContent = `${name} · ${stageLabel(stage)}${density}${stale ? " · " + t("stale") : ""}`;
}

function drawLegend() {
  const legend = document.getElementById("legend");
  legend.replaceChildren(...[...STAGES, "stale"].map((s) => {
    const li = document.createElement("li");
    li.innerHTML = `<span class="swatch ${s === "stale" ? "stale-swatch" : "stage-" + s}"></span>`;
    li.append(s === "stale" ? t("stale") : stageLabel(s));
    return li;
  }));
}
