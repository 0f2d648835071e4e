"use strict";
// The operator's alert panel: open and acknowledged alerts, acknowledge and resolve.
const alertsById = new Map();

async function loadAlerts(api) {
  const r = await api("/api/v1/alerts?status=open&status=acknowledged&limit=200");
  if (!r.ok) return;
  alertsById.clear();
  for (const a of await r.json()) alertsById.set(a.id, a);
}

function upsertAlert(alert) {
  const prev = alertsById.get(alert.id);
  alertsById.set(alert.id, { ...(prev || {}), ...alert });
}

function renderAlerts(areaName, onAction) {
  const list = document.getElementById("alerts");
  const live = [...alertsById.values()].filter((a) => a.status === "open" || a.status === "acknowledged");
  live.sort((a, b) => STAGES.indexOf(b.stage) - STAGES.indexOf(a.stage) || (a.status === "open" ? -1 : 1));
  if (!live.length) {
    const li = document.createElement("li");
    li.className = "empty"; li.textContent = t("noAlerts");
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(...live.map((a) => {
    const li = document.createElement("li");
    li.className = `alert stage-${a.stage} status-${a.status}`;
    li.dataset.alertId = a.id;
    li.dataset.status = a.status;
    const when = `${kstTime(a.opened_at)} KST`;
    li.innerHTML = `<div class="alert-head"><span class="chip stage-${a.stage}"></span><strong></strong>
      <span class="alert-status"></span></div><div class="alert-body"></div><div class="alert-actions"></div>`;
    li.querySelector(".chip").textContent = stageLabel(a.stage);
    li.querySelector("strong").textContent = areaName(a.area_code) + (a.zone_id ? ` / ${a.zone_id}` : "");
    li.querySelector(".alert-status").textContent = t(a.status);
    li.querySelector(".alert-body").textContent =
      `${t("rule_" + a.rule)} · ${Number(a.density_per_m2).toFixed(2)}${t("perM2")} · ${when}${a.acknowledged_by ? " · ✔ " + a.acknowledged_by : ""}`;
    const actions = li.querySelector(".alert-actions");
    if (a.status === "open") actions.append(button(t("ack"), "ack", () => onAction(a.id, "acknowledge", { note: "" })));
    actions.append(button(t("resolve"), "resolve", () => onAction(a.id, "resolve", { reason: t("resolveReason") })));
    return li;
  }));
}

function button(label, cls, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.className = cls; b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}
