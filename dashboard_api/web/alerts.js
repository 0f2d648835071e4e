"use strict";
// The operator's alerts: the banner for every open 경계/심각, sound and notification for a
// new one, the alert panel (acknowledge, resolve, comment, silence) and active silences.
const alertsById = new Map();
const alertDetails = new Map(); // id -> audit trail (comments), from GET /alerts/{id}
const heard = new Set(); // "id:stage" already announced, so each is sounded once
let silences = [];
const LOUD = ["alert", "serious"];
const districtOf = (code) => app.areas[code]?.district;
const isLive = (a) => a.status === "open" || a.status === "acknowledged";

async function loadAlerts(api, announce) {
  const r = await api("/api/v1/alerts?status=open&status=acknowledged&limit=200");
  if (!r.ok) return;
  const fresh = await r.json();
  for (const a of alertsById.values()) if (isLive(a) && !fresh.some((f) => f.id === a.id)) alertsById.delete(a.id);
  for (const a of fresh) upsertAlert(a, announce);
}

async function loadAlertExtras(api) {
  const live = [...alertsById.values()].filter(isLive);
  const [sil, ...details] = await Promise.all([
    api(`/api/v1/silences?active_at=${encodeURIComponent(new Date().toISOString())}`),
    ...live.map((a) => api(`/api/v1/alerts/${a.id}`)),
  ]);
  if (sil.ok) silences = await sil.json();
  for (const r of details) if (r.ok) { const d = await r.json(); alertDetails.set(d.id, d.audit || []); }
}

function upsertAlert(alert, announce = true) {
  const prev = alertsById.get(alert.id);
  const merged = { ...(prev || {}), ...alert };
  alertsById.set(alert.id, merged);
  const key = `${merged.id}:${merged.stage}`;
  if (merged.status === "open" && LOUD.includes(merged.stage) && !heard.has(key)) {
    heard.add(key);
    if (announce) {
      beep(merged.stage);
      notify(`CityPulse · ${stageLabel(merged.stage)}`, areaName(merged.area_code), () => focusArea(merged.area_code));
    }
  }
}

// One banner row per area (its highest open 경계/심각), 심각 and newest first.
const BANNER_ROWS = 4;
function loudByArea() {
  const byArea = new Map();
  for (const a of alertsById.values()) {
    if (a.status !== "open" || !LOUD.includes(a.stage)) continue;
    const row = byArea.get(a.area_code) || { area_code: a.area_code, alerts: [] };
    row.alerts.push(a);
    byArea.set(a.area_code, row);
  }
  const rows = [...byArea.values()].map((r) => {
    r.alerts.sort((x, y) => STAGES.indexOf(y.stage) - STAGES.indexOf(x.stage) || Date.parse(y.opened_at) - Date.parse(x.opened_at));
    return { ...r, top: r.alerts[0] };
  });
  return rows.sort((x, y) => STAGES.indexOf(y.top.stage) - STAGES.indexOf(x.top.stage)
    || Date.parse(y.top.opened_at) - Date.parse(x.top.opened_at));
}

function renderBanner(areaName) {
  const banner = document.getElementById("banner");
  const rows = loudByArea();
  banner.hidden = !rows.length;
  flashTitle(rows.length ? `${stageLabel(rows[0].top.stage)} · ${areaName(rows[0].area_code)}` : "");
  const shown = rows.slice(0, BANNER_ROWS).map(({ area_code, alerts, top }) => {
    const row = document.createElement("div");
    row.className = `banner-row stage-${top.stage}`;
    row.dataset.alertIds = alerts.map((a) => a.id).join(" ");
    row.innerHTML = '<b class="chip"></b> <span class="what"></span> ';
    row.querySelector(".chip").textContent = stageLabel(top.stage);
    row.querySelector(".what").textContent =
      `${areaName(area_code)} · ${Number(top.density_per_m2).toFixed(2)}${t("perM2")} · ${kstTime(top.opened_at, false)} KST`
      + (alerts.length > 1 ? ` · ${t("alerts")} ${alerts.length}` : "");
    row.append(button(t("showOnMap"), "goto", () => focusArea(area_code)));
    return row;
  });
  if (rows.length > BANNER_ROWS) {
    const more = document.createElement("div");
    more.className = "banner-row banner-more";
    more.textContent = `+${rows.length - BANNER_ROWS} ${t("moreAreas")}`;
    shown.push(more);
  }
  banner.replaceChildren(...shown);
}

// Texts (not alerts) are muted up to max_stage (경계): a 심각 still reaches phones.
function silenceText(s) {
  const scope = [...(s.area_codes || []).map(areaName), ...(s.districts || [])].join(", ") || t("everywhere");
  return `${t("silenced")} ${scope} · ${t("smsUpTo")} ${stageLabel(s.max_stage)} · ${t("until")} ${kstTime(s.ends_at, false)} KST · ${s.created_by}: ${s.reason}`;
}
const mutes = (s, a) => (s.area_codes || []).includes(a.area_code) || (s.districts || []).includes(districtOf(a.area_code));

function renderAlerts(areaName, onAction, onSilence) {
  const list = document.getElementById("alerts");
  const live = [...alertsById.values()].filter(isLive);
  live.sort((a, b) => (a.status === "open" ? 0 : 1) - (b.status === "open" ? 0 : 1)
    || STAGES.indexOf(b.stage) - STAGES.indexOf(a.stage));
  document.getElementById("silences").replaceChildren(...silences.map((s) => {
    const li = document.createElement("li");
    li.className = "silence"; li.dataset.silenceId = s.id; li.textContent = silenceText(s);
    return li;
  }));
  if (!live.length) {
    const li = document.createElement("li");
    li.className = "empty"; li.textContent = t("noAlerts");
    list.replaceChildren(li);
    return;
  }
  // Keep what an operator is typing: rebuild only alerts whose content changed.
  const old = new Map([...list.children].map((li) => [li.dataset.alertId, li]));
  list.replaceChildren(...live.map((a) => {
    const comments = (alertDetails.get(a.id) || []).filter((e) => e.action === "commented");
    const muting = silences.filter((s) => mutes(s, a));
    const sig = JSON.stringify([a.status, a.stage, a.acknowledged_by, comments.length, muting.map((s) => s.id), lang]);
    const prev = old.get(String(a.id));
    if (prev && prev.dataset.sig === sig) return prev;
    const li = document.createElement("li");
    li.className = `alert stage-${a.stage} status-${a.status}`;
    li.dataset.alertId = a.id;
    li.dataset.status = a.status;
    li.dataset.sig = sig;
    li.innerHTML = `<div class="alert-head"><span class="chip stage-${a.stage}"></span><strong></strong>
      <span class="alert-status"></span></div><div class="alert-body"></div><ul class="comments"></ul>
      <div class="alert-muted"></div><div class="alert-actions"></div><details class="alert-forms"></details>`;
    li.querySelector(".chip").textContent = stageLabel(a.stage);
    li.querySelector("strong").textContent = areaName(a.area_code) + (a.zone_id ? ` / ${a.zone_id}` : "");
    li.querySelector(".alert-status").textContent = t(a.status);
    li.querySelector(".alert-body").textContent =
      `${t("rule_" + a.rule)} · ${Number(a.density_per_m2).toFixed(2)}${t("perM2")} · ${kstTime(a.opened_at)} KST${a.acknowledged_by ? " · ✔ " + a.acknowledged_by : ""}`;
    li.querySelector(".comments").replaceChildren(...comments.map((c) => {
      const ci = document.createElement("li");
      ci.className = "comment"; ci.textContent = `${c.who} ${kstTime(c.at, false)}: ${c.detail || c.why || ""}`;
      return ci;
    }));
    li.querySelector(".alert-muted").textContent = muting.map(silenceText).join(" / ");
    const actions = li.querySelector(".alert-actions");
    actions.append(button(t("showOnMap"), "goto", () => focusArea(a.area_code)),
                   button(t("chart"), "chart", () => { select(a.area_code); document.getElementById("detail-panel").scrollIntoView(); }));
    if (typeof openRecord === "function") actions.append(button(rt("record"), "record", () => openRecord({ alert: a.id })));  // record.js
    if (a.status === "open") actions.append(button(t("ack"), "ack", () => onAction(a.id, "acknowledge", { note: "" })));
    actions.append(button(t("resolve"), "resolve", () => onAction(a.id, "resolve", { reason: t("resolveReason") })));
    // Comment and silence fold away so a list of alerts stays short on a phone.
    const forms = li.querySelector(".alert-forms");
    const summary = document.createElement("summary");
    summary.textContent = t("moreActions");
    forms.append(summary, commentForm(a, onAction), silenceForm(a, onSilence));
    if (typeof playbookPanel === "function") forms.before(playbookPanel(a));  // playbook.js
    if (prev) {  // a rebuilt alert keeps what the operator had open and typed
      forms.open = prev.querySelector("details.alert-forms")?.open || false;
      prev.querySelectorAll("details.alert-forms input, details.alert-forms select").forEach((el) => {
        const twin = forms.querySelector(`form.${el.form.className} [name="${el.name}"]`);
        if (twin) twin.value = el.value;
      });
    }
    return li;
  }));
}

function commentForm(a, onAction) {
  const form = document.createElement("form");
  form.className = "comment-form";
  form.innerHTML = '<input name="text" required maxlength="1000"><button type="submit"></button>';
  form.text.placeholder = t("commentPh");
  form.querySelector("button").textContent = t("comment");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    // Cleared before the list re-renders (which copies typed text), restored on failure.
    const text = form.text.value;
    form.text.value = "";
    if (!(await onAction(a.id, "comment", { text }))) form.text.value = text;
  });
  return form;
}

// Who: the signed-in operator (the server records it); why, until and scope here.
function silenceForm(a, onSilence) {
  const form = document.createElement("form");
  form.className = "silence-form";
  form.innerHTML = `<select name="scope"><option value="area"></option><option value="district"></option></select>
    <select name="minutes">${[30, 60, 120, 240, 480].map((m) => `<option value="${m}">${m >= 60 ? m / 60 + "h" : m + "m"}</option>`).join("")}</select>
    <input name="reason" required maxlength="500"><button type="submit"></button>`;
  form.scope.options[0].textContent = areaName(a.area_code);
  form.scope.options[1].textContent = districtOf(a.area_code) || t("district");
  form.scope.options[1].disabled = !districtOf(a.area_code);
  form.minutes.value = "60";
  form.reason.placeholder = t("silenceWhy");
  form.querySelector("button").textContent = t("silence");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const now = new Date();
    const body = { starts_at: now.toISOString(), ends_at: new Date(now.getTime() + Number(form.minutes.value) * 60000).toISOString(),
                   reason: form.reason.value };
    if (form.scope.value === "district") body.district = districtOf(a.area_code); else body.area_code = a.area_code;
    form.reason.value = "";
    onSilence(body).then((ok) => { if (!ok) form.reason.value = body.reason; });
  });
  return form;
}

function button(label, cls, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.className = cls; b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

// A failed request in the page's language: the server's code (X-Error-Code), else the
// HTTP status; the server's own text only as a detail in English.
async function errorText(r) {
  let detail = "";
  try { const body = await r.json(); detail = typeof body.detail === "string" ? body.detail : ""; } catch { /* not JSON */ }
  const code = r.headers.get("X-Error-Code") || `http_${r.status}`;
  const text = I18N[lang].errors[code] || I18N[lang].errors.other;
  return lang === "en" && detail ? `${text} (${detail})` : text;
}
