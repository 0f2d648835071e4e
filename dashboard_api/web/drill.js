// Drill mode (citypulse drill start): `?drill=<id>` shows that drill's alerts and incident
// record, with its simulated times, under an unmistakable banner and frame; operators
// switch between the live city and a running drill with the selector, and act in the
// drill as live: acknowledge its alerts and tick their playbook actions. Everything goes
// to /api/v1/drills/<id>/... (the drill's schema, its simulated clock), never the live
// city's routes. Stable hooks for browser tests: select.drill-switch, .drill-banner,
// [data-drill-alert="<id>"] (data-status, data-acknowledged-by), button.drill-ack,
// input[data-drill-playbook-action="<key>"], [data-drill-action] lines of the record.
(function () {
  const TEXT = {
    ko: { live: "실제 도시", banner: "훈련 중 — 실제 상황이 아닙니다", record: "훈련 기록 (모의 시각)",
          none: "경보 없음", back: "실제 도시로", ack: "확인", playbook: "대응 매뉴얼", actions: "조치 기록",
          printable: "사후 기록", wall: "실제" },
    en: { live: "Live city", banner: "DRILL — not the live city", record: "Drill record (simulated times)",
          none: "No alerts", back: "Back to the live city", ack: "Acknowledge", playbook: "Playbook",
          actions: "What operators did", printable: "Incident record", wall: "wall" },
  };
  const say = (key) => TEXT[(typeof lang !== "undefined" && lang === "en") ? "en" : "ko"][key];
  const drillId = new URLSearchParams(location.search).get("drill");
  const validId = drillId && /^[a-z0-9]{1,16}$/.test(drillId) ? drillId : null;
  const base = validId ? `/api/v1/drills/${validId}` : null;
  // A drill's times are simulated: the date too (a drill may rehearse another day).
  const simTime = (iso) => (iso
    ? `${new Date(iso).toLocaleDateString("sv-SE", { timeZone: "Asia/Seoul" })} ${kstTime(iso)} KST` : "");

  function headers(extra = {}) {
    const token = sessionStorage.getItem("cp-token");
    return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
  }

  let busy = 0;  // acknowledgements and ticks on their way: no refresh meanwhile

  async function post(path, body) {
    busy += 1;
    try {
      return await fetch(`${base}${path}`, {
        method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body),
      });
    } finally { busy -= 1; }
  }

  async function loadDrills() {
    const r = await fetch("/api/v1/drills", { headers: headers() });
    return r.ok ? r.json() : [];
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  let select = null;  // one selector, however often the drills are fetched again

  async function renderSwitch() {
    const drills = await loadDrills();
    if (!drills.length && !validId) return;
    if (!select) {
      select = el("select", "drill-switch");
      select.setAttribute("aria-label", "drill");
      select.addEventListener("change", () => {
        location.search = select.value ? `?drill=${encodeURIComponent(select.value)}` : "";
      });
      document.querySelector("header .status")?.append(select);
    }
    select.replaceChildren(new Option(say("live"), ""));
    for (const d of drills) select.append(new Option(`DRILL ${d.id} (${d.open}/${d.alerts})`, d.id));
    select.value = validId || "";
  }

  function renderBanner() {
    document.body.classList.add("drill-mode");
    const banner = el("div", "drill-banner", `${say("banner")} · ${validId}`);
    banner.setAttribute("role", "status");
    const back = el("a", "", say("back"));
    back.href = location.pathname;
    banner.append(" ", back);
    document.body.prepend(banner);
    const panel = el("section", "drill-record");
    panel.id = "drill-record";
    const main = document.querySelector("main");
    if (main) main.prepend(panel); else document.body.append(panel);
  }

  let renders = 0;  // the last render started wins: an older answer never paints over it

  async function renderDrill() {
    const seq = ++renders;
    const panel = document.getElementById("drill-record");
    const r = await fetch(base, { headers: headers() });
    if (seq !== renders) return;
    if (!r.ok) { panel.replaceChildren(el("h2", "", say("record")), el("p", "", `${r.status}`)); return; }
    const record = await r.json();
    if (seq !== renders) return;
    const nodes = [el("h2", "", say("record"))];
    if (!record.alerts.length) nodes.push(el("p", "", say("none")));
    for (const a of record.alerts) nodes.push(alertItem(a, record.actions.filter((x) => String(x.target) === String(a.id))));
    panel.replaceChildren(...nodes);
  }

  function alertItem(a, actions) {
    const where = a.zone_id ? `${a.area_code}/${a.zone_id}` : a.area_code;
    const item = el("details", `drill-alert stage-${a.stage}`);
    item.dataset.drillAlert = a.id;
    item.dataset.status = a.status;
    item.dataset.acknowledgedBy = a.acknowledged_by || "";
    item.open = a.status === "open" || a.status === "acknowledged";
    item.append(el("summary", "", `#${a.id} ${where} ${a.rule} ${a.stage} ${a.status} · ${simTime(a.opened_at)}`
      + (a.acknowledged_by ? ` · ✔ ${a.acknowledged_by} ${simTime(a.acknowledged_at)}` : "")));
    const bar = el("div", "drill-alert-actions");
    if (a.status === "open") {
      const ack = el("button", "drill-ack", say("ack"));
      ack.type = "button";
      ack.addEventListener("click", async () => {
        ack.disabled = true;
        const r = await post(`/alerts/${a.id}/acknowledge`, { note: "" });
        if (!r.ok) { ack.disabled = false; bar.append(el("span", "error", await errorText(r))); return; }
        renderDrill();
      });
      bar.append(ack);
    }
    const printable = el("button", "drill-printable", say("printable"));
    printable.type = "button";
    printable.addEventListener("click", () => openRecord({ drill: validId, alert: a.id }));
    bar.append(printable);
    item.append(bar);
    if (a.status === "open" || a.status === "acknowledged") item.append(playbookBox(a.id));
    const list = el("ul", "drill-trail");
    for (const line of a.audit) list.append(el("li", "", `${simTime(line.at)} ${line.who} ${line.action}`));
    for (const x of actions) {
      const li = el("li", "", `${simTime(x.at)} ${x.actor} ${x.action} ${x.data.text_ko || ""}`
        + (x.data.wall_at ? ` (${say("wall")} ${kstTime(x.data.wall_at)})` : ""));
      li.dataset.drillAction = x.action;
      list.append(li);
    }
    item.append(list);
    return item;
  }

  function playbookBox(alertId) {
    const box = el("div", "drill-playbook");
    box.append(el("h3", "", say("playbook")));
    const list = el("ol", "playbook-actions");
    box.append(list);
    fetch(`${base}/alerts/${alertId}/playbook`, { headers: headers() }).then(async (r) => {
      if (!r.ok) { box.append(el("p", "error", `${r.status}`)); return; }
      const pb = await r.json();
      for (const action of pb.actions) {
        const li = el("li", `playbook-action agency-${action.agency}${action.ticked ? " done" : ""}`);
        const label = el("label");
        const tick = el("input");
        tick.type = "checkbox";
        tick.checked = action.ticked;
        tick.disabled = !pb.may_tick;
        tick.dataset.drillPlaybookAction = action.key;
        tick.addEventListener("change", async () => {
          tick.disabled = true;
          const r2 = await post(`/alerts/${alertId}/playbook/ticks`, { action_key: action.key, ticked: tick.checked });
          if (!r2.ok) { tick.checked = !tick.checked; box.append(el("p", "error", await errorText(r2))); }
          renderDrill();
        });
        label.append(tick, " ", (typeof lang !== "undefined" && lang === "en") ? action.text_en : action.text_ko);
        li.append(label);
        if (action.ticked) li.append(el("span", "meta", ` ✔ ${action.ticked_by_name || action.ticked_by} ${simTime(action.ticked_at)}`));
        list.append(li);
      }
    });
    return box;
  }

  function start() {
    renderSwitch();
    if (validId) renderDrill();
  }

  window.addEventListener("DOMContentLoaded", () => {
    if (validId) renderBanner();
    start();
  });
  // app.js announces a sign-in: the drills and a drill's alerts need the token.
  document.addEventListener("cp-signed-in", start);
  // The drill runs on: its alerts again every 15 s (not while an action is on its way).
  if (validId) {
    setInterval(() => {
      if (sessionStorage.getItem("cp-token") && !busy) renderDrill();
    }, 15000);
  }
})();
