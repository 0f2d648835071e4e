"use strict";
// The record after an incident (GET /api/v1/alerts/{id}/record, /api/v1/records): a
// printable timeline in #record-view, with PDF and CSV downloads. Opened from an alert's
// "기록" button or from the launcher under the alert list (any alert id, or areas and a
// time range, for alerts already closed). Operators and admins only, as the API says.
const RECORD_TEXT = {
  ko: { record: "기록", title: "사후 기록", launcher: "사후 기록 보기 (경보 번호, 또는 지역과 기간)", alertNo: "경보 번호",
        areas: "지역 코드 (POI004,POI009)", from: "시작 (KST)", to: "종료 (KST)", show: "보기", print: "인쇄", pdf: "PDF",
        csv: "CSV", close: "닫기", period: "기간", generated: "작성", time: "시각 (KST)", kind: "종류", alert: "경보",
        who: "누가", what: "내용", area: "지역", stage: "단계", status: "상태", opened: "발령", none: "기록 없음",
        failed: "기록을 불러오지 못했습니다",
        kinds: { crowd: "인파", decision: "판단", acknowledgement: "확인", comment: "메모", resolution: "해제",
                 action: "조치", notification: "대기", sms: "문자", delivery: "수신" } },
  en: { record: "Record", title: "Incident record", launcher: "Incident record (alert number, or areas and a period)", alertNo: "Alert no.",
        areas: "Area codes (POI004,POI009)", from: "From (KST)", to: "To (KST)", show: "Show", print: "Print", pdf: "PDF",
        csv: "CSV", close: "Close", period: "Period", generated: "Generated", time: "Time (KST)", kind: "Kind", alert: "Alert",
        who: "Who", what: "What", area: "Area", stage: "Stage", status: "Status", opened: "Opened", none: "Nothing stored",
        failed: "Could not load the record",
        kinds: { crowd: "crowd", decision: "decision", acknowledgement: "acknowledged", comment: "comment",
                 resolution: "resolved", action: "action", notification: "held", sms: "SMS", delivery: "delivery" } },
};
const rt = (key) => RECORD_TEXT[typeof lang === "string" && lang === "en" ? "en" : "ko"][key];

// Where a record comes from: {alert: 12} or {areas: "POI004", from: "...", to: "..."}.
function recordPath(scope, suffix = "") {
  if (scope.drill) return `/api/v1/drills/${encodeURIComponent(scope.drill)}/alerts/${encodeURIComponent(scope.alert)}/record${suffix}`;
  if (scope.alert) return `/api/v1/alerts/${encodeURIComponent(scope.alert)}/record${suffix}`;
  const q = new URLSearchParams({ areas: scope.areas, from: scope.from, to: scope.to });
  return `/api/v1/records${suffix}?${q}`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function recordButton(label, cls, onClick) {
  const b = el("button", cls, label);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

async function openRecord(scope) {
  const view = document.getElementById("record-view");
  if (!view) return;
  const r = await api(recordPath(scope));
  if (!r.ok) {
    view.replaceChildren(recordToolbar(scope), el("p", "error", `${rt("failed")} (HTTP ${r.status})`));
  } else {
    renderRecord(view, scope, await r.json());
  }
  view.hidden = false;
  document.body.classList.add("record-open");
  view.scrollIntoView();
}

function closeRecord() {
  const view = document.getElementById("record-view");
  view.hidden = true;
  view.replaceChildren();
  document.body.classList.remove("record-open");
}

async function downloadRecord(scope, suffix) {
  const r = await api(recordPath(scope, suffix));
  if (!r.ok) return;
  const name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "")?.[1] || `record${suffix}`;
  const url = URL.createObjectURL(await r.blob());
  const a = el("a");
  a.href = url; a.download = name;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function recordToolbar(scope) {
  const bar = el("div", "record-toolbar");
  bar.append(recordButton(rt("print"), "record-print", () => window.print()),
             recordButton(rt("pdf"), "record-pdf", () => downloadRecord(scope, ".pdf")),
             recordButton(rt("csv"), "record-csv", () => downloadRecord(scope, ".csv")),
             recordButton(rt("close"), "record-close", closeRecord));
  return bar;
}

function table(head, rows, rowAttrs) {
  const t = el("table", "record-table");
  const tr = el("tr");
  head.forEach((h) => tr.append(el("th", "", h)));
  const thead = el("thead"); thead.append(tr);
  const tbody = el("tbody");
  rows.forEach((cells, i) => {
    const row = el("tr");
    if (rowAttrs) rowAttrs(row, i);
    cells.forEach((c) => row.append(el("td", "", c)));
    tbody.append(row);
  });
  t.append(thead, tbody);
  return t;
}

function renderRecord(view, scope, rec) {
  const kst = (iso) => (iso ? kstTime(iso) + " KST" : "");
  const heading = el("h2", "", `${rt("title")} · ${rec.title}`);
  const meta = el("p", "meta", `${rt("period")} ${kst(rec.from)} – ${kst(rec.to)} · ${rec.areas.join(", ")} · `
    + `${rt("generated")} ${kst(rec.generated_at)} ${rec.generated_by}`);
  const notes = el("ul", "record-notes");
  rec.notes.forEach((n) => notes.append(el("li", "", n)));
  const alerts = table([rt("alert"), rt("area"), rt("stage"), rt("status"), rt("opened")], rec.alerts.map((a) => [
    a.alert, `${a.name_ko} (${a.area_code}${a.zone_id ? " / " + a.zone_id : ""}) · ${a.district}`,
    `${a.stage_ko} (max ${a.peak_stage_ko})`,
    [a.status, a.acknowledged_by ? `✔ ${a.acknowledged_by}` : "", a.resolved_by ? `■ ${a.resolved_by}` : ""].filter(Boolean).join(" "),
    kst(a.opened_at)]));
  const entries = rec.entries.length
    ? table([rt("time"), rt("kind"), rt("alert"), rt("who"), rt("what")],
        rec.entries.map((e) => [e.time_kst.replace(" KST", ""), rt("kinds")[e.kind] || e.kind, e.alert || e.area, e.who, e.text]),
        (row, i) => { row.dataset.recordEntry = ""; row.dataset.kind = rec.entries[i].kind; row.className = `kind-${rec.entries[i].kind}`; })
    : el("p", "meta", rt("none"));
  view.replaceChildren(recordToolbar(scope), heading, meta, notes, alerts, entries);
}

// The launcher under the alert list: any alert by number, or areas over a period.
function recordLauncher() {
  const box = el("details", "record-launcher");
  box.id = "record-launcher";
  box.append(el("summary", "", rt("launcher")));
  const form = el("form", "record-form");
  form.innerHTML = `<input name="alert" inputmode="numeric" pattern="[0-9]*" maxlength="19">
    <input name="areas" pattern="POI[0-9]{3}(,POI[0-9]{3})*" maxlength="139">
    <input name="from" type="datetime-local"><input name="to" type="datetime-local"><button type="submit"></button>`;
  form.alert.placeholder = rt("alertNo"); form.areas.placeholder = rt("areas");
  form.from.title = rt("from"); form.to.title = rt("to");
  form.querySelector("button").textContent = rt("show");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = form.alert.value.trim().replace(/^A/i, "");
    if (id) openRecord({ alert: id });
    else if (form.areas.value && form.from.value && form.to.value) {
      openRecord({ areas: form.areas.value.trim().toUpperCase(), from: form.from.value, to: form.to.value });
    }
  });
  box.append(form);
  return box;
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("alert-panel");
  if (panel && !document.getElementById("record-launcher")) panel.append(recordLauncher());
});
