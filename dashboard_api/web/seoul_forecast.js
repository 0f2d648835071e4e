"use strict";
// Seoul's own 12-hour population forecast (citydata FCST_PPLTN) for the selected area: one
// column per hour, a bar for the head-count range, Seoul's comfort label in words on its
// colour. Labelled as Seoul's figures, apart from CityPulse's estimate and forecast.
const SEOUL_FORECAST_HOURS = 12;
const COMFORT_CLASS = { "여유": "comfort-0", "보통": "comfort-1", "약간 붐빔": "comfort-2", "붐빔": "comfort-3" };

// The hours still ahead: the point of the current hour onwards, at most twelve.
function upcomingPoints(forecast, now) {
  return (forecast?.points || []).filter((p) => Date.parse(p.time) + 3600000 > now).slice(0, SEOUL_FORECAST_HOURS);
}

function renderSeoulForecast(box, forecast, now) {
  const points = upcomingPoints(forecast, now);
  const head = document.createElement("h3");
  head.className = "fc-title";
  head.textContent = t("seoulForecast");
  const note = document.createElement("div");
  note.className = "fc-note";
  if (!points.length) {
    note.textContent = forecast ? `${t("seoulForecastOld")} ${kstTime(forecast.issued_at, false)} KST` : t("seoulForecastMissing");
    box.dataset.points = "0";
    box.replaceChildren(head, note);
    return;
  }
  note.textContent = `${t("seoulForecastIssued")} ${kstTime(forecast.issued_at, false)} KST · ${t("seoulForecastNotOurs")}`;
  const top = Math.max(...points.map((p) => p.people_max), 1);
  const row = document.createElement("ol");
  row.className = "fc-hours";
  row.replaceChildren(...points.map((p) => {
    const li = document.createElement("li");
    li.className = `fc-hour ${COMFORT_CLASS[p.congestion_level] || "comfort-none"}`;
    li.dataset.label = p.congestion_level || "";
    const label = p.congestion_level ? I18N[lang].comfort[p.congestion_level] || p.congestion_level : t("noData");
    const range = `${p.people_min.toLocaleString()}–${p.people_max.toLocaleString()}`;
    li.title = `${kstTime(p.time, false)} KST · ${label} · ${range} ${t("people")}`;
    const short = new Intl.NumberFormat(lang === "ko" ? "ko-KR" : "en-GB", { notation: "compact", maximumFractionDigits: 1 });
    li.innerHTML = '<span class="fc-time"></span><span class="fc-bar"><i></i></span><span class="fc-label"></span><span class="fc-range"></span>';
    li.querySelector(".fc-time").textContent = kstTime(p.time, false);
    li.querySelector(".fc-bar i").style.height = `${Math.max(6, Math.round((100 * p.people_max) / top))}%`;
    li.querySelector(".fc-label").textContent = label;
    li.querySelector(".fc-range").textContent = `${short.format(p.people_min)}–${short.format(p.people_max)}`;
    return li;
  }));
  box.dataset.points = String(points.length);
  box.replaceChildren(head, note, row);
}
