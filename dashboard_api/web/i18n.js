"use strict";
// Korean and English labels; stage names follow the Ministry's four stages.
const I18N = {
  ko: {
    subtitle: "서울 인파 안전 현황", offline: "연결 끊김", online: "실시간", map: "인파 지도",
    risk: "위험 순위", alerts: "경보", login: "로그인", logout: "로그아웃", user: "아이디",
    password: "비밀번호", ack: "확인", resolve: "해제", resolveReason: "대시보드에서 해제",
    stale: "수신 지연", noData: "자료 없음", density: "밀집도", people: "인원", trend: "추세",
    forecast: "예측", history: "최근 6시간", staleFeeds: "지연 피드", loginFailed: "로그인 실패",
    open: "발령", acknowledged: "확인됨", resolved: "해제됨", auto_resolved: "자동 해제",
    noAlerts: "진행 중인 경보 없음", perM2: "명/m²", rule_stage: "단계 초과",
    rule_rate_of_rise: "급증", rule_forecast: "예측 심각", rule_data_gap: "수신 중단",
    stages: { normal: "정상", attention: "관심", caution: "주의", alert: "경계", serious: "심각" },
  },
  en: {
    subtitle: "Seoul crowd safety", offline: "offline", online: "live", map: "Crowd map",
    risk: "Highest risk", alerts: "Alerts", login: "Sign in", logout: "Sign out", user: "user",
    password: "password", ack: "Acknowledge", resolve: "Resolve", resolveReason: "resolved from the dashboard",
    stale: "stale", noData: "no data", density: "density", people: "people", trend: "trend",
    forecast: "forecast", history: "last 6 hours", staleFeeds: "stale feeds", loginFailed: "sign-in failed",
    open: "open", acknowledged: "acknowledged", resolved: "resolved", auto_resolved: "auto-resolved",
    noAlerts: "no open alerts", perM2: "/m²", rule_stage: "stage crossed",
    rule_rate_of_rise: "rising fast", rule_forecast: "serious forecast", rule_data_gap: "feed silent",
    stages: { normal: "Normal", attention: "Attention", caution: "Caution", alert: "Alert", serious: "Serious" },
  },
};
const STAGES = ["normal", "attention", "caution", "alert", "serious"];
let lang = localStorage.getItem("cp-lang") || "ko";
function t(key) { return I18N[lang][key] ?? key; }
// Seoul's control rooms work in KST, whatever zone the viewing browser is set to.
function kstTime(value, withSeconds = true) {
  const opts = { timeZone: "Asia/Seoul", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (withSeconds) opts.second = "2-digit";
  return new Date(value).toLocaleTimeString(lang === "ko" ? "ko-KR" : "en-GB", opts);
}
function stageLabel(stage) { return stage ? I18N[lang].stages[stage] : t("noData"); }
function applyLanguage() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-ph]").forEach((el) => { el.placeholder = t(el.dataset.i18nPh); });
  document.getElementById("lang").textContent = lang === "ko" ? "EN" : "한국어";
}
