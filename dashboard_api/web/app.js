"use strict";
// Wires the page: areas from the API, live states from /ws/live (resuming after a
// reconnect), the risk list, the selected area's chart, the operator's alerts.
const STALE_AFTER_MS = 15 * 60 * 1000;
const app = { areas: {}, states: {}, polys: {}, thresholds: {}, seoulForecasts: {}, selected: null, history: [], hours: 6, seq: 0, epoch: null,
              token: sessionStorage.getItem("cp-token"), user: sessionStorage.getItem("cp-user"),
              role: sessionStorage.getItem("cp-role"), ws: null, online: false };

function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (app.token) headers.Authorization = `Bearer ${app.token}`;
  return fetch(path, { ...options, headers });
}
const isOperator = () => app.role === "operator" || app.role === "admin";
const areaName = (code) => { const a = app.areas[code]; return a ? (lang === "ko" ? a.name_ko : a.name_en) : code; };
function isStale(state) {
  return !!state && (state.stale || Date.now() - Date.parse(state.as_of) > STALE_AFTER_MS);
}
const risk = (s) => (s ? STAGES.indexOf(s.stage) * 100 + s.density_per_m2 : -1);

function paint(code) {
  const poly = app.polys[code];
  if (poly) paintArea(poly, app.areas[code], app.states[code], isStale(app.states[code]), code === app.selected);
}

let listQueued = false;
function scheduleList() {
  if (listQueued) return;
  listQueued = true;
  requestAnimationFrame(() => { listQueued = false; renderList(); renderStaleCount(); });
}

function renderList() {
  const codes = Object.keys(app.areas).sort((a, b) => risk(app.states[b]) - risk(app.states[a]));
  document.getElementById("risk-list").replaceChildren(...codes.slice(0, 25).map((code) => {
    const s = app.states[code];
    const li = document.createElement("li");
    li.className = `risk ${s ? "stage-" + s.stage : "nodata"}${isStale(s) ? " stale" : ""}${code === app.selected ? " selected" : ""}`;
    li.dataset.code = code;
    li.innerHTML = '<span class="chip"></span><span class="name"></span><span class="num"></span>';
    li.querySelector(".chip").textContent = stageLabel(s?.stage);
    li.querySelector(".name").textContent = areaName(code) + (isStale(s) ? ` ⚠ ${t("stale")}` : "");
    li.querySelector(".num").textContent = s ? `${s.density_per_m2.toFixed(2)}${t("perM2")}` : "–";
    li.addEventListener("click", () => select(code));
    return li;
  }));
}

function renderStaleCount() {
  const n = Object.keys(app.areas).filter((c) => isStale(app.states[c])).length;
  const el = document.getElementById("stale-count");
  el.hidden = n === 0;
  el.textContent = `${t("staleFeeds")}: ${n}`;
}

// Seoul's own comfort label beside CityPulse's stage: an operator sees when they disagree.
function seoulBeside(s) {
  if (!s) return "";
  const seoul = s.comfort_level ? I18N[lang].comfort[s.comfort_level] || s.comfort_level : t("noData");
  return `${t("seoulSays")}: ${seoul} · ${t("oursSays")}: ${stageLabel(s.stage)} ${s.density_per_m2.toFixed(2)}${t("perM2")}`;
}

// The 30-minute forecast with its track record here: "+30m 2.40/m² (±0.12, n=57)".
function forecastRecord(s) {
  const f = (s.forecast || []).find((p) => p.horizon_min === 30);
  if (!f) return "";
  const record = f.mae_per_m2 == null ? "" : ` (±${f.mae_per_m2.toFixed(2)}, n=${f.scored})`;
  return `${t("forecast")} +30m ${f.density_per_m2.toFixed(2)}${t("perM2")}${record}`;
}

function renderDetail() {
  const code = app.selected;
  if (!code) return;
  const s = app.states[code];
  document.getElementById("detail-title").textContent = `${areaName(code)} · ${app.hours === 6 ? t("history") : t("history24")}`;
  document.querySelectorAll(".range button").forEach((b) => b.classList.toggle("on", Number(b.dataset.hours) === app.hours));
  const meta = s ? [`${t("density")} ${s.density_per_m2.toFixed(2)}${t("perM2")}`, stageLabel(s.stage),
    `${t("people")} ${Math.round(s.people).toLocaleString()}`,
    s.trend_per_min == null ? "" : `${t("trend")} ${(s.trend_per_min * 60).toFixed(2)}/h`,
    forecastRecord(s), isStale(s) ? `⚠ ${t("stale")}` : ""] : [t("noData")];
  document.getElementById("detail-meta").textContent = meta.filter(Boolean).join(" · ");
  document.getElementById("detail-seoul").textContent = seoulBeside(s);
  renderSeoulForecast(document.getElementById("seoul-forecast"), app.seoulForecasts[code], Date.now());
  drawChart(document.getElementById("chart"), app.history, s, Date.now(), app.thresholds[code], app.hours);
  renderAreaConfig();
}

async function select(code) {
  const previous = app.selected;
  app.selected = code;
  if (previous) paint(previous);
  paint(code);
  scheduleList();
  const from = new Date(Date.now() - app.hours * 3600000).toISOString();
  const resolution = app.hours > 6 ? "15m" : "1m";
  const [r, detail] = await Promise.all([
    fetch(`/api/v1/areas/${code}/history?resolution=${resolution}&from=${encodeURIComponent(from)}`),
    fetch(`/api/v1/areas/${code}`)]);
  app.history = r.ok ? historySeries((await r.json()).points) : [];
  if (detail.ok) takeDetail(code, await detail.json());
  renderDetail();
}

// Thresholds once (the page edits them), Seoul's forecast every time: it is renewed hourly.
function takeDetail(code, body) {
  if (!(code in app.thresholds)) app.thresholds[code] = body.thresholds || null;
  app.seoulForecasts[code] = body.seoul_forecast || null;
}

async function refreshSeoulForecast() {
  const code = app.selected;
  if (!code) return;
  const r = await fetch(`/api/v1/areas/${code}`).catch(() => null);
  if (!r || !r.ok || code !== app.selected) return;
  takeDetail(code, await r.json());
  renderSeoulForecast(document.getElementById("seoul-forecast"), app.seoulForecasts[code], Date.now());
}

function applyItem(item) {
  if (item.kind === "state" && item.state.zone_id == null) {
    app.states[item.state.area_code] = item.state;
    paint(item.state.area_code);
    if (item.state.area_code === app.selected) renderDetail();
  } else if (item.kind === "alert") {
    upsertAlert(item.alert);
    renderAlertPanel();
    refreshAlertExtras();
  } else if (item.kind === "reset") {
    app.states = {};
  }
}

function connectLive() {
  const params = new URLSearchParams({ zones: "false" });
  if (app.epoch) { params.set("since_seq", app.seq); params.set("epoch", app.epoch); }
  // The token goes in the first message, never in the URL (URLs reach access logs).
  const signIn = app.token && isOperator();
  if (signIn) params.set("auth", "1");
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/live?${params}`);
  app.ws = ws;
  ws.onopen = () => {
    if (signIn) ws.send(JSON.stringify({ type: "auth", token: app.token }));
    app.online = true; renderConn();
  };
  ws.onmessage = (ev) => {
    const frame = JSON.parse(ev.data);
    if (frame.seq != null) app.seq = frame.seq;
    if (frame.epoch) app.epoch = frame.epoch;
    (frame.items || []).forEach(applyItem);
    if (frame.items && frame.items.length) scheduleList();
  };
  ws.onclose = () => {
    app.online = false; renderConn();
    if (app.ws === ws) setTimeout(connectLive, 1000);
  };
}

function renderConn() {
  const conn = document.getElementById("conn");
  conn.className = `conn ${app.online ? "up" : "down"}`;
  conn.textContent = t(app.online ? "online" : "offline");
}

function reconnectLive() {
  const old = app.ws;
  app.ws = null;
  if (old) old.close();
  connectLive();
}

function renderAlertPanel() {
  document.getElementById("alert-panel").hidden = !isOperator();
  document.getElementById("sound").hidden = !isOperator();
  if (!isOperator()) { document.getElementById("banner").hidden = true; flashTitle(""); return; }
  renderBanner(areaName);
  renderAlerts(areaName, alertAction, createSilence);
  renderSound();
}

// Comments and silences come from other operators too: fetched on every alert event
// and every few seconds, at most one fetch at a time.
let extrasBusy = false;
async function refreshAlertExtras() {
  if (extrasBusy || !isOperator()) return;
  extrasBusy = true;
  try { await loadAlertExtras(api); renderAlertPanel(); } finally { extrasBusy = false; }
}

let errorTimer = null;
async function showResult(r) {
  const err = document.getElementById("alert-error");
  err.hidden = r.ok;
  clearTimeout(errorTimer);
  if (!r.ok) {
    err.textContent = await errorText(r);
    errorTimer = setTimeout(() => { err.hidden = true; }, 20000);
  }
  return r.ok;
}

async function alertAction(id, action, body) {
  const r = await api(`/api/v1/alerts/${id}/${action}`, { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (await showResult(r)) {
    const alert = await r.json();
    upsertAlert(alert);
    alertDetails.set(alert.id, alert.audit || []);
  }
  renderAlertPanel();
  return r.ok;
}

async function createSilence(body) {
  const r = await api("/api/v1/silences", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const ok = await showResult(r);
  if (ok) await refreshAlertExtras();
  return ok;
}

// Thresholds and event days of the selected area (operators; the server checks the role).
function renderAreaConfig() {
  const box = document.getElementById("area-config");
  box.hidden = !isOperator() || !app.selected;
  if (box.hidden) return;
  const form = document.getElementById("threshold-form");
  const th = { ...DEFAULT_THRESHOLDS, ...(app.thresholds[app.selected] || {}) };
  if (form.dataset.code !== app.selected) {
    for (const k of Object.keys(DEFAULT_THRESHOLDS)) form[k].value = th[k];
    form.dataset.code = app.selected;
    document.getElementById("config-msg").textContent = "";
  }
}

async function configRequest(method, path, body, done) {
  const r = await api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const msg = document.getElementById("config-msg");
  msg.className = r.ok ? "meta" : "error";
  msg.textContent = r.ok ? t(done) : await errorText(r);
  return r.ok;
}

async function saveThresholds(value) {
  const code = app.selected;
  if (await configRequest("PUT", `/api/v1/config/thresholds/${code}`, { thresholds: value }, "saved")) {
    app.thresholds[code] = value;
    document.getElementById("threshold-form").dataset.code = "";
    renderAreaConfig(); renderDetail();
  }
}

// The form's times are KST, whatever zone the browser is set to.
const kstInput = (value) => new Date(`${value}:00+09:00`).toISOString();

function wireAreaConfig() {
  const form = document.getElementById("threshold-form");
  const values = () => Object.fromEntries(Object.keys(DEFAULT_THRESHOLDS).map((k) => [k, Number(form[k].value)]));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); saveThresholds(values()); });
  document.getElementById("threshold-reset").addEventListener("click", () => saveThresholds(null));
  const day = document.getElementById("eventday-form");
  day.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { name: day.name.value, starts_at: kstInput(day.starts.value), ends_at: kstInput(day.ends.value),
                   thresholds: values(), area_codes: [app.selected] };
    if (day.expected.value !== "") body.expected_people = Number(day.expected.value);  // planned crowd (optional)
    if (await configRequest("POST", "/api/v1/config/event-days", body, "eventDayAdded")) day.reset();
  });
}

function renderAccount() {
  const signedIn = !!app.token;
  document.getElementById("login").hidden = signedIn;
  document.getElementById("logout").hidden = !signedIn;
  const who = document.getElementById("who");
  who.hidden = !signedIn;
  who.textContent = signedIn ? `${app.user} (${app.role})` : "";
}

async function login(ev) {
  ev.preventDefault();
  const form = new URLSearchParams({ grant_type: "password", username: document.getElementById("user").value,
                                     password: document.getElementById("pass").value });
  const r = await fetch("/api/v1/auth/token", { method: "POST", body: form });
  const err = document.getElementById("login-error");
  err.hidden = r.ok;
  if (!r.ok) { err.textContent = r.status === 401 ? I18N[lang].errors.bad_credentials : await errorText(r); return; }
  const body = await r.json();
  Object.assign(app, { token: body.access_token, role: body.role, user: document.getElementById("user").value });
  sessionStorage.setItem("cp-token", app.token); sessionStorage.setItem("cp-role", app.role);
  sessionStorage.setItem("cp-user", app.user);
  await afterSignIn();
}

async function afterSignIn() {
  renderAccount();
  if (isOperator()) { await loadAlerts(api, false); await loadAlertExtras(api); }
  renderAlertPanel(); renderAreaConfig(); renderAdmin(); renderPlaybookEditor();
  reconnectLive();
  document.dispatchEvent(new Event("cp-signed-in"));  // drill.js
}

function logout() {
  Object.assign(app, { token: null, role: null, user: null });
  sessionStorage.clear();
  alertsById.clear(); alertDetails.clear();
  playbooks.clear(); renderPlaybookEditor();
  renderAccount(); renderAlertPanel(); renderAreaConfig(); renderAdmin(); reconnectLive();
}

function relabel() {
  for (const id of ["alert-error", "login-error", "chart-tip"]) document.getElementById(id).hidden = true;
  applyLanguage(); renderConn(); drawLegend(); relabelDistricts(); Object.keys(app.areas).forEach(paint); renderList();
  renderStaleCount(); renderDetail(); renderAlertPanel(); renderAdmin();
}

async function main() {
  applyLanguage(); renderConn(); drawLegend(); renderAccount();
  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "ko" ? "en" : "ko"; localStorage.setItem("cp-lang", lang); relabel();
  });
  document.getElementById("login").addEventListener("submit", login);
  document.getElementById("logout").addEventListener("click", logout);
  document.getElementById("sound").addEventListener("click", toggleSound);
  wireAreaConfig(); wireAdmin();
  attachChartTooltip(document.getElementById("chart"), document.getElementById("chart-tip"));
  document.querySelectorAll(".range button").forEach((b) => b.addEventListener("click", () => {
    app.hours = Number(b.dataset.hours);
    if (app.selected) select(app.selected);
  }));
  document.addEventListener("click", unlockAudio, { capture: true });
  setInterval(async () => {
    if (!isOperator()) return;
    await loadAlerts(api, true);
    await refreshAlertExtras();
  }, 5000);
  setInterval(() => { document.getElementById("clock").textContent = `${kstTime(Date.now())} KST`; }, 1000);
  setInterval(() => { Object.keys(app.areas).forEach(paint); renderStaleCount(); }, 30000);
  setInterval(refreshSeoulForecast, 60000);
  const hasMap = await createMap(select);
  relabelDistricts();
  const geo = await (await fetch("/api/v1/areas")).json();
  for (const f of geo.features) {
    app.areas[f.id] = f.properties;
    if (f.properties.state) app.states[f.id] = f.properties.state;
  }
  app.polys = hasMap ? drawAreas(geo.features, select) : {};
  Object.keys(app.areas).forEach(paint);
  renderList(); renderStaleCount();
  if (app.token) await afterSignIn(); else connectLive();
  const top = geo.features[0];
  if (top) select(top.id);
  document.body.dataset.ready = "true";
}
main();
