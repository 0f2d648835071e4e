"use strict";
// The hotspot polygons on a Leaflet map, over Seoul's district borders and the Han river
// (GeoJSON shipped with the page: works with no internet) and, when the API is configured
// with one, a tile base map. Areas at 주의 or above also get a marker of fixed screen size,
// so a small polygon at 심각 is never a sliver.
// Korea's crisis-level colours: 관심 blue, 주의 yellow, 경계 orange, 심각 red.
const STAGE_COLORS = { normal: "#5f8f73", attention: "#1971c2", caution: "#fcc419", alert: "#f76707", serious: "#c92a2a" };
const NODATA_COLOR = "#3b434d";
const MARKED_STAGES = ["caution", "alert", "serious"];
const cpMap = { map: null, polys: {}, markers: {}, labels: [] };

async function createMap(onSelect) {
  if (!window.L) {  // the API could not serve Leaflet: say so rather than show nothing
    document.getElementById("map").textContent = t("noMapLibrary");
    return null;
  }
  const map = L.map("map", { zoomSnap: 0.1, zoomControl: true, minZoom: 9, maxZoom: 18 });
  cpMap.map = map;
  const config = await (await fetch("/api/v1/map-config")).json().catch(() => ({ tile_url: "" }));
  if (config.tile_url) L.tileLayer(config.tile_url, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
  map.attributionControl.addAttribution("KOSTAT 2013 (southkorea/seoul-maps, Apache-2.0)");
  const [districts, river] = await Promise.all(
    ["/basemap/seoul_districts.geojson", "/basemap/seoul_han_river.geojson"].map((u) => fetch(u).then((r) => r.json())));
  const borders = L.geoJSON(districts, { interactive: false, style: { className: "district", color: "#8b949e", weight: 1.2, fill: true, fillColor: "#1a2230", fillOpacity: 1 } }).addTo(map);
  borders.eachLayer((layer) => {
    const p = layer.feature.properties;
    const label = L.marker(layer.getBounds().getCenter(), { interactive: false, keyboard: false,
      icon: L.divIcon({ className: "district-label", html: "", iconSize: null }) }).addTo(map);
    label.cpNames = p;
    cpMap.labels.push(label);
  });
  L.geoJSON(river, { interactive: false, style: { color: "#2f5d8a", weight: 9, opacity: 0.9, lineCap: "round", className: "river" } }).addTo(map);
  cpMap.home = borders.getBounds();
  cpResetView();
  map.on("zoomend", () => map.getContainer().classList.toggle("zoomed-in", map.getZoom() >= 14));
  return map;
}

function drawAreas(features, onSelect) {
  const map = cpMap.map;
  for (const f of features) {
    const ring = f.geometry.coordinates[0].map(([lon, lat]) => [lat, lon]);
    const poly = L.polygon(ring, { className: "area", weight: 1, color: "#0d1117", fillColor: NODATA_COLOR, fillOpacity: 0.85 }).addTo(map);
    const el = poly.getElement();
    el.dataset.code = f.id;
    poly.on("click", () => onSelect(f.id));
    poly.bindTooltip("", { className: "area-label", direction: "center", permanent: true, opacity: 0.9 });
    cpMap.polys[f.id] = poly;
  }
  return cpMap.polys;
}

// The default view: all of Seoul in the map, whatever the screen.
function cpResetView() {
  if (!cpMap.map) return;
  cpMap.map.invalidateSize();
  cpMap.map.fitBounds(cpMap.home, { padding: [4, 4] });
}

function areaCentre(code) { return cpMap.polys[code].getBounds().getCenter(); }

function paintArea(poly, area, state, stale, selected) {
  const stage = state ? state.stage : null;
  const el = poly.getElement();
  const fill = stale ? "url(#hatch)" : stage ? STAGE_COLORS[stage] : NODATA_COLOR;
  poly.setStyle({ fillColor: fill, fillOpacity: stage === "normal" && !stale ? 0.55 : 0.9,
                  color: selected ? "#ffffff" : stale ? "#e6edf3" : "#0d1117", weight: selected ? 3 : 1,
                  dashArray: stale ? "4 3" : null });
  el.dataset.stage = stage || "none";
  el.dataset.stale = stale ? "true" : "false";
  const name = lang === "ko" ? area.name_ko : area.name_en;
  const density = state ? ` ${state.density_per_m2.toFixed(2)}${t("perM2")}` : "";
  poly.setTooltipContent(`${name}`);
  el.setAttribute("aria-label", `${name} · ${stageLabel(stage)}${density}${stale ? " · " + t("stale") : ""}`);
  const code = el.dataset.code;
  const marked = stage && MARKED_STAGES.includes(stage);
  let marker = cpMap.markers[code];
  if (!marked) {
    if (marker) { marker.remove(); delete cpMap.markers[code]; }
    return;
  }
  const html = `<span class="dot"></span><span class="lbl"><b></b> <span></span></span>`;
  if (!marker) {
    marker = L.marker(areaCentre(code), { riseOnHover: true, keyboard: true,
      icon: L.divIcon({ className: "stage-marker", html, iconSize: null }) }).addTo(cpMap.map);
    marker.on("click", () => focusArea(code));
    cpMap.markers[code] = marker;
  }
  const m = marker.getElement();
  m.dataset.code = code;
  m.dataset.stage = stage;
  STAGES.forEach((st) => m.classList.toggle(`stage-${st}`, st === stage));
  m.classList.toggle("stale", stale);
  m.querySelector(".dot").style.background = STAGE_COLORS[stage];
  m.querySelector("b").textContent = stageLabel(stage);
  m.querySelector(".lbl > span").textContent = name;
  marker.setZIndexOffset(1000 * STAGES.indexOf(stage));
}

function relabelDistricts() {
  if (!cpMap.map) return;
  for (const label of cpMap.labels) {
    label.getElement().textContent = lang === "ko" ? label.cpNames.name_ko : label.cpNames.name_en;
  }
}

// From an alert or a marker: bring the area into view and select it.
function focusArea(code) {
  const poly = cpMap.polys[code];
  if (!poly) { select(code); return; }
  cpMap.map.fitBounds(poly.getBounds(), { maxZoom: 16, padding: [40, 40] });
  select(code);
  document.getElementById("map").scrollIntoView({ block: "nearest" });
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
