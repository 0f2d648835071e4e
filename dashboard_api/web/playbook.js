"use strict";
// Playbooks (대응 매뉴얼): each alert's checklist for its stage and area type, operators
// tick actions (the server records who and when), and the admins' editor.
// Stable hooks for browser tests: [data-playbook-alert="<id>"] on an alert's panel,
// [data-playbook-action="<key>"] on each action's checkbox, #playbook-editor and its
// [data-playbook-editor-*] controls.
const playbooks = new Map(); // alert id -> the last GET /alerts/{id}/playbook
const playbooksOpen = new Set(); // alert ids whose panel the operator opened

const PB_TEXT = {
  ko: { title: "대응 매뉴얼", by: "완료", loadFailed: "매뉴얼을 불러오지 못했습니다", empty: "이 단계의 조치 없음",
        notYours: "관할 밖: 보기만 가능", editor: "대응 매뉴얼 편집", stage: "단계", areaType: "지역 유형",
        key: "키", agency: "담당", textKo: "조치 (한국어)", textEn: "조치 (영어)", add: "조치 추가", remove: "삭제",
        save: "저장", saved: "저장됨", up: "위로",
        areaTypes: { station: "역", park: "공원", alley: "골목·상권", festival_site: "행사장", default: "기본" },
        agencies: { city: "서울시 상황실", district: "구청", fire: "소방", police: "경찰" } },
  en: { title: "Playbook", by: "done", loadFailed: "could not load the playbook", empty: "no actions for this stage",
        notYours: "outside your districts: view only", editor: "Edit playbooks", stage: "stage", areaType: "area type",
        key: "key", agency: "agency", textKo: "action (Korean)", textEn: "action (English)", add: "Add action", remove: "Remove",
        save: "Save", saved: "saved", up: "Up",
        areaTypes: { station: "Station", park: "Park", alley: "Alley / street", festival_site: "Festival site", default: "Default" },
        agencies: { city: "City control room", district: "District office", fire: "Fire", police: "Police" } },
};
const pbt = (key) => PB_TEXT[lang][key] ?? key;

// The panel inside an alert of the alert list (alerts.js calls this on each rebuild).
function playbookPanel(a) {
  const box = document.createElement("details");
  box.className = "playbook";
  box.dataset.playbookAlert = a.id;
  const summary = document.createElement("summary");
  summary.textContent = pbt("title");
  const body = document.createElement("div");
  body.className = "playbook-body";
  box.append(summary, body);
  box.open = playbooksOpen.has(a.id) || a.stage === "alert" || a.stage === "serious";
  box.addEventListener("toggle", () => {
    if (box.open) { playbooksOpen.add(a.id); loadPlaybook(a.id); } else playbooksOpen.delete(a.id);
  });
  if (playbooks.has(a.id)) renderPlaybook(a.id, "", body);  // at once from the cache, then fresh
  if (box.open) loadPlaybook(a.id);
  return box;
}

async function loadPlaybook(alertId) {
  const r = await api(`/api/v1/alerts/${alertId}/playbook`);
  if (r.ok) playbooks.set(alertId, await r.json());
  renderPlaybook(alertId, r.ok ? "" : pbt("loadFailed"));
}

function renderPlaybook(alertId, error = "", box = document.querySelector(`[data-playbook-alert="${alertId}"] .playbook-body`)) {
  if (!box) return;
  const pb = playbooks.get(alertId);
  const nodes = [];
  if (error) {
    const p = document.createElement("p");
    p.className = "error"; p.textContent = error;
    nodes.push(p);
  }
  if (pb) {
    const head = document.createElement("p");
    head.className = "meta playbook-kind";
    head.textContent = `${stageLabel(pb.stage)} · ${PB_TEXT[lang].areaTypes[pb.area_type] || pb.area_type}`
      + (pb.may_tick ? "" : ` · ${pbt("notYours")}`);
    const list = document.createElement("ol");
    list.className = "playbook-actions";
    for (const action of pb.actions) list.append(playbookItem(alertId, pb, action));
    if (!pb.actions.length) {
      const li = document.createElement("li");
      li.className = "empty"; li.textContent = pbt("empty");
      list.append(li);
    }
    nodes.push(head, list);
  }
  box.replaceChildren(...nodes);
}

function playbookItem(alertId, pb, action) {
  const li = document.createElement("li");
  li.className = `playbook-action agency-${action.agency}${action.ticked ? " done" : ""}`;
  li.dataset.playbookKey = action.key;
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = action.ticked;
  box.disabled = !pb.may_tick;
  box.dataset.playbookAction = action.key;
  box.addEventListener("change", () => tickAction(alertId, action.key, box));
  const agency = document.createElement("span");
  agency.className = "chip agency";
  agency.textContent = PB_TEXT[lang].agencies[action.agency] || action.agency;
  const text = document.createElement("span");
  text.className = "playbook-text";
  text.textContent = lang === "en" ? action.text_en : action.text_ko;
  label.append(box, " ", agency, " ", text);
  li.append(label);
  if (action.ticked) {
    const who = document.createElement("span");
    who.className = "meta playbook-who";
    who.textContent = ` ✔ ${action.ticked_by_name || action.ticked_by} ${kstTime(action.ticked_at, false)}`;
    li.append(who);
  }
  return li;
}

async function tickAction(alertId, key, box) {
  box.disabled = true;
  const r = await api(`/api/v1/alerts/${alertId}/playbook/ticks`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ action_key: key, ticked: box.checked }),
  });
  if (r.ok) { playbooks.set(alertId, await r.json()); renderPlaybook(alertId); return; }
  box.checked = !box.checked;
  box.disabled = false;
  renderPlaybook(alertId, await errorText(r));
}

// -- the admins' editor: one stage and area type at a time --------------------------------

let editorBook = null; // GET /playbooks

async function renderPlaybookEditor() {
  const section = document.getElementById("playbook-editor");
  if (!section) return;
  section.hidden = app.role !== "admin";
  if (section.hidden) return;
  if (!section.dataset.wired) wirePlaybookEditor(section);
  const r = await api("/api/v1/playbooks");
  if (!r.ok) { editorMessage(await errorText(r), true); return; }
  editorBook = await r.json();
  fillEditor();
}

function wirePlaybookEditor(section) {
  section.dataset.wired = "true";
  const stage = section.querySelector("[data-playbook-editor-stage]");
  const type = section.querySelector("[data-playbook-editor-type]");
  stage.replaceChildren(...["attention", "caution", "alert", "serious"].map((s) => new Option(stageLabel(s), s)));
  type.replaceChildren(...Object.keys(PB_TEXT.ko.areaTypes).map((k) => new Option(PB_TEXT[lang].areaTypes[k], k)));
  stage.value = "alert";
  stage.addEventListener("change", fillEditor);
  type.addEventListener("change", fillEditor);
  section.querySelector("[data-playbook-editor-add]").addEventListener("click", () => {
    const rows = section.querySelector("[data-playbook-editor-rows]");
    rows.append(editorRow({ key: `${stage.value}.${type.value}.${Date.now().toString(36)}`, agency: "city", text_ko: "", text_en: "" }));
  });
  section.querySelector("form").addEventListener("submit", savePlaybook);
}

function fillEditor() {
  const section = document.getElementById("playbook-editor");
  const stage = section.querySelector("[data-playbook-editor-stage]").value;
  const type = section.querySelector("[data-playbook-editor-type]").value;
  const list = editorBook?.checklists.find((c) => c.stage === stage && c.area_type === type);
  section.querySelector("[data-playbook-editor-rows]").replaceChildren(...(list ? list.actions : []).map(editorRow));
  editorMessage("");
}

function editorRow(action) {
  const row = document.createElement("li");
  row.className = "playbook-editor-row";
  row.dataset.playbookEditorRow = action.key;
  row.innerHTML = `<input name="key" required maxlength="80" pattern="[a-z0-9][a-z0-9_.\\-]{0,79}">
    <select name="agency"></select><input name="text_ko" required maxlength="120"><input name="text_en" required maxlength="120">
    <button type="button" class="up"></button><button type="button" class="remove"></button>`;
  row.querySelector("[name=agency]").replaceChildren(
    ...Object.keys(PB_TEXT.ko.agencies).map((k) => new Option(PB_TEXT[lang].agencies[k], k)));
  for (const name of ["key", "agency", "text_ko", "text_en"]) row.querySelector(`[name=${name}]`).value = action[name];
  row.querySelector("[name=key]").title = pbt("key");
  row.querySelector("[name=text_ko]").placeholder = pbt("textKo");
  row.querySelector("[name=text_en]").placeholder = pbt("textEn");
  const up = row.querySelector(".up"), remove = row.querySelector(".remove");
  up.textContent = "↑"; up.title = pbt("up");
  remove.textContent = pbt("remove");
  up.addEventListener("click", () => { if (row.previousElementSibling) row.parentNode.insertBefore(row, row.previousElementSibling); });
  remove.addEventListener("click", () => row.remove());
  return row;
}

async function savePlaybook(ev) {
  ev.preventDefault();
  const section = document.getElementById("playbook-editor");
  const stage = section.querySelector("[data-playbook-editor-stage]").value;
  const type = section.querySelector("[data-playbook-editor-type]").value;
  const actions = [...section.querySelectorAll(".playbook-editor-row")].map((row) => ({
    key: row.querySelector("[name=key]").value.trim(), agency: row.querySelector("[name=agency]").value,
    text_ko: row.querySelector("[name=text_ko]").value, text_en: row.querySelector("[name=text_en]").value,
  }));
  const r = await api(`/api/v1/playbooks/${stage}/${type}`, {
    method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ actions }),
  });
  if (!r.ok) { editorMessage(await errorText(r), true); return; }
  await renderPlaybookEditor();
  editorMessage(pbt("saved"));
  for (const id of playbooksOpen) loadPlaybook(id);
}

function editorMessage(text, error = false) {
  const msg = document.getElementById("playbook-editor-msg");
  if (!msg) return;
  msg.textContent = text;
  msg.className = error ? "error" : "meta";
}

// Other operators tick too: the open panels are fetched again every 10 s.
setInterval(() => {
  if (!app.token) return;
  for (const id of playbooksOpen) if (document.querySelector(`[data-playbook-alert="${id}"]`)) loadPlaybook(id);
}, 10000);
