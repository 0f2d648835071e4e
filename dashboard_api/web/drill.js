// Drill mode (citypulse drill start): `?drill=<id>` shows that drill's incident record,
// with its simulated times, under an unmistakable banner and frame; operators switch
// between the live city and a running drill with the selector. Read-only.
(function () {
  const TEXT = {
    ko: { live: "실제 도시", banner: "훈련 중 — 실제 상황이 아닙니다", record: "훈련 기록 (모의 시각)",
          none: "경보 없음", back: "실제 도시로" },
    en: { live: "Live city", banner: "DRILL — not the live city", record: "Drill record (simulated times)",
          none: "No alerts", back: "Back to the live city" },
  };
  const say = (key) => TEXT[(typeof lang !== "undefined" && lang === "en") ? "en" : "ko"][key];
  const drillId = new URLSearchParams(location.search).get("drill");
  const validId = drillId && /^[a-z0-9]{1,16}$/.test(drillId) ? drillId : null;

  function headers() {
    const token = sessionStorage.getItem("cp-token");
    return token ? { Authorization: `Bearer ${token}` } : {};
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

  async function renderSwitch() {
    const drills = await loadDrills();
    if (!drills.length && !validId) return;
    const select = el("select", "drill-switch");
    select.setAttribute("aria-label", "drill");
    select.append(new Option(say("live"), ""));
    for (const d of drills) select.append(new Option(`DRILL ${d.id} (${d.open}/${d.alerts})`, d.id));
    select.value = validId || "";
    select.addEventListener("change", () => {
      location.search = select.value ? `?drill=${encodeURIComponent(select.value)}` : "";
    });
    document.querySelector("header .status")?.append(select);
  }

  async function renderDrill() {
    document.body.classList.add("drill-mode");
    const banner = el("div", "drill-banner", `${say("banner")} · ${validId}`);
    banner.setAttribute("role", "status");
    const back = el("a", "", say("back"));
    back.href = location.pathname;
    banner.append(" ", back);
    document.body.prepend(banner);
    const panel = el("section", "drill-record");
    panel.append(el("h2", "", say("record")));
    const main = document.querySelector("main");
    if (main) main.prepend(panel); else document.body.append(panel);
    const r = await fetch(`/api/v1/drills/${validId}`, { headers: headers() });
    if (!r.ok) { panel.append(el("p", "", `${r.status}`)); return; }
    const record = await r.json();
    if (!record.alerts.length) panel.append(el("p", "", say("none")));
    for (const a of record.alerts) {
      const where = a.zone_id ? `${a.area_code}/${a.zone_id}` : a.area_code;
      const item = el("details", `drill-alert stage-${a.stage}`);
      item.append(el("summary", "", `#${a.id} ${where} ${a.rule} ${a.stage} ${a.status} · ${a.opened_at}`));
      const list = el("ul");
      for (const line of a.audit) list.append(el("li", "", `${line.at} ${line.who} ${line.action}`));
      item.append(list);
      panel.append(item);
    }
  }

  window.addEventListener("DOMContentLoaded", () => {
    renderSwitch();
    if (validId) renderDrill();
  });
})();
