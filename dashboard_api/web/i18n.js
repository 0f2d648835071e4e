"use strict";
// Korean and English labels; stage names follow the Ministry's four stages.
const I18N = {
  ko: {
    subtitle: "서울 인파 안전 현황", offline: "연결 끊김", online: "실시간", map: "인파 지도",
    risk: "위험 순위", alerts: "경보", login: "로그인", logout: "로그아웃", user: "아이디",
    password: "비밀번호", ack: "확인", resolve: "해제", resolveReason: "대시보드에서 해제",
    stale: "수신 지연", noData: "자료 없음", density: "밀집도", people: "인원", trend: "추세",
    forecast: "예측", history: "최근 6시간", history24: "최근 24시간", staleFeeds: "지연 피드", loginFailed: "로그인 실패",
    open: "발령", acknowledged: "확인됨", resolved: "해제됨", auto_resolved: "자동 해제",
    noAlerts: "진행 중인 경보 없음", perM2: "명/m²", rule_stage: "단계 초과",
    rule_rate_of_rise: "급증", rule_forecast: "예측 심각", rule_data_gap: "수신 중단",
    silences: "알림 유예", noMapLibrary: "지도 라이브러리를 불러오지 못했습니다 (서버에서 scripts/bootstrap.sh 실행 필요)", areaConfig: "이 지역 기준 설정", thresholdsFor: "단계 기준 (명/m²):",
    st_attention: "관심", st_caution: "주의", st_alert: "경계", st_serious: "심각", save: "저장", backToDefault: "기본값으로",
    eventDay: "행사일 (이 지역, 위 기준 적용):", eventName: "행사 이름", from: "시작", to: "종료", addEventDay: "행사일 추가", expectedPeople: "예상 인원",
    saved: "저장됨 · 15초 안에 적용", eventDayAdded: "행사일 추가됨", moreActions: "메모 · 문자 유예", silenced: "[유예]", moreAreas: "곳 더", showOnMap: "지도", chart: "추이", comment: "메모", commentPh: "메모 남기기",
    silence: "문자 유예", silenceWhy: "유예 사유 (행사 등)", until: "종료", smsUpTo: "문자 유예 최대", everywhere: "전체", district: "자치구",
    soundOn: "경보음 켜짐", soundOff: "경보음 꺼짐", soundBlocked: "경보음 차단됨 · 눌러서 허용",
    seoulSays: "서울시 혼잡도", oursSays: "CityPulse 판단", seoulForecastMissing: "서울시 예측 미수신",
    seoulForecast: "서울시 인구 예측 (향후 12시간)", seoulForecastIssued: "서울시 발표", seoulForecastNotOurs: "CityPulse 예측 아님",
    seoulForecastOld: "지난 예측만 있음 · 발표",
    playbookEditor: "대응 매뉴얼 편집 (관리자)", pbStage: "단계", pbAreaType: "지역 유형", pbAdd: "조치 추가",
    comfort: { "여유": "여유", "보통": "보통", "약간 붐빔": "약간 붐빔", "붐빔": "붐빔" },
    errors: { http_401: "로그인이 필요합니다", http_403: "권한이 없습니다", http_404: "경보를 찾을 수 없습니다",
      http_409: "이미 처리된 경보입니다", http_422: "입력값을 확인하세요", http_429: "요청이 너무 많습니다 · 잠시 후 다시",
      http_503: "데이터베이스 일시 중단 · 잠시 후 다시", alert_not_found: "경보를 찾을 수 없습니다",
      invalid_transition: "이미 처리된 경보입니다 (상태가 바뀌었습니다)", invalid_silence: "유예 설정이 올바르지 않습니다",
      bad_credentials: "아이디 또는 비밀번호가 틀렸습니다", other: "요청 실패",
      outside_districts: "관할 구역 밖입니다", action_not_found: "이 경보의 매뉴얼에 없는 조치입니다",
      invalid_playbook: "매뉴얼 입력값을 확인하세요", playbook_key_taken: "다른 매뉴얼에서 쓰는 키입니다" },
    stages: { normal: "정상", attention: "관심", caution: "주의", alert: "경계", serious: "심각" },
  },
  en: {
    subtitle: "Seoul crowd safety", offline: "offline", online: "live", map: "Crowd map",
    risk: "Highest risk", alerts: "Alerts", login: "Sign in", logout: "Sign out", user: "user",
    password: "password", ack: "Acknowledge", resolve: "Resolve", resolveReason: "resolved from the dashboard",
    stale: "stale", noData: "no data", density: "density", people: "people", trend: "trend",
    forecast: "forecast", history: "last 6 hours", history24: "last 24 hours", staleFeeds: "stale feeds", loginFailed: "sign-in failed",
    open: "open", acknowledged: "acknowledged", resolved: "resolved", auto_resolved: "auto-resolved",
    noAlerts: "no open alerts", perM2: "/m²", rule_stage: "stage crossed",
    rule_rate_of_rise: "rising fast", rule_forecast: "serious forecast", rule_data_gap: "feed silent",
    silences: "Silences", noMapLibrary: "the map library did not load (run scripts/bootstrap.sh on the server)", areaConfig: "Thresholds for this area", thresholdsFor: "stage thresholds (/m²):",
    st_attention: "Attention", st_caution: "Caution", st_alert: "Alert", st_serious: "Serious", save: "Save", backToDefault: "Back to defaults",
    eventDay: "event day (this area, thresholds above):", eventName: "event name", from: "from", to: "to", addEventDay: "Add event day", expectedPeople: "expected people",
    saved: "saved · applies within 15 s", eventDayAdded: "event day added", moreActions: "comment · silence", silenced: "[silenced]", moreAreas: "more areas", showOnMap: "Map", chart: "Chart", comment: "Comment", commentPh: "add a comment",
    silence: "Silence texts", silenceWhy: "why (planned event…)", until: "until", smsUpTo: "texts muted up to", everywhere: "everywhere", district: "district",
    soundOn: "sound on", soundOff: "sound off", soundBlocked: "sound blocked · click to allow",
    seoulSays: "Seoul's label", oursSays: "CityPulse", seoulForecastMissing: "no Seoul forecast received",
    seoulForecast: "Seoul's population forecast (next 12 hours)", seoulForecastIssued: "published by Seoul", seoulForecastNotOurs: "not CityPulse's forecast",
    seoulForecastOld: "only a past forecast · published",
    playbookEditor: "Edit playbooks (admins)", pbStage: "stage", pbAreaType: "area type", pbAdd: "Add action",
    comfort: { "여유": "relaxed", "보통": "normal", "약간 붐빔": "slightly crowded", "붐빔": "crowded" },
    errors: { http_401: "please sign in", http_403: "not allowed for your role", http_404: "no such alert",
      http_409: "the alert was already handled", http_422: "check the input", http_429: "too many requests, retry shortly",
      http_503: "database unavailable, retry shortly", alert_not_found: "no such alert",
      invalid_transition: "the alert was already handled (its status changed)", invalid_silence: "invalid silence",
      bad_credentials: "wrong user or password", other: "request failed",
      outside_districts: "outside your districts", action_not_found: "not an action of this alert's playbook",
      invalid_playbook: "check the playbook", playbook_key_taken: "a key another checklist uses" },
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
// Admin pages (admin.js): accounts and SMS recipients.
Object.assign(I18N.ko, {
  admin: "관리", adminClose: "관리 닫기", adminDone: "저장됨", accounts: "계정", recipients: "문자 수신자",
  username: "아이디", displayName: "이름", role: "권한", agency: "기관", districts: "담당 자치구", state: "상태",
  enabled: "사용", disabled: "사용 중지", locked: "잠김", enable: "사용", disable: "사용 중지",
  newPassword: "새 비밀번호", resetPassword: "비밀번호 재설정", wholeCity: "서울 전체", newAccount: "새 계정",
  initialPassword: "초기 비밀번호", districtsPh: "예: 종로구, 중구 (비우면 전체)", create: "추가",
  role_viewer: "열람", role_operator: "운영", role_admin: "관리자",
  name: "이름", phone: "휴대전화", tier: "단계", recipientRole: "용도", language: "언어", areasLabel: "지역 코드",
  groups: "그룹", groupsPh: "예: festival", quietHours: "방해 금지 (KST)", quietFrom: "방해 금지 시작", quietUntil: "종료",
  quietNote: "방해 금지 시간에는 심각 미만 문자를 보내지 않음 (자정 넘김 가능)", edit: "수정", cancel: "취소",
  rrole_crowd: "인파 경보", rrole_technical: "기술 당직", newRecipient: "새 수신자", editRecipient: "수신자 수정",
  agencies: { city: "서울시 상황실", district: "구청", fire: "소방", police: "경찰" },
});
Object.assign(I18N.en, {
  admin: "Admin", adminClose: "Close admin", adminDone: "saved", accounts: "Accounts", recipients: "SMS recipients",
  username: "username", displayName: "name", role: "role", agency: "agency", districts: "districts", state: "state",
  enabled: "enabled", disabled: "disabled", locked: "locked", enable: "Enable", disable: "Disable",
  newPassword: "new password", resetPassword: "Reset password", wholeCity: "all of Seoul", newAccount: "New account",
  initialPassword: "initial password", districtsPh: "e.g. 종로구, 중구 (empty: all)", create: "Create",
  role_viewer: "viewer", role_operator: "operator", role_admin: "admin",
  name: "name", phone: "mobile", tier: "tier", recipientRole: "role", language: "language", areasLabel: "area codes",
  groups: "groups", groupsPh: "e.g. festival", quietHours: "quiet hours (KST)", quietFrom: "quiet from", quietUntil: "until",
  quietNote: "no texts below 심각 in quiet hours (may wrap midnight)", edit: "Edit", cancel: "Cancel",
  rrole_crowd: "crowd alerts", rrole_technical: "technical on-call", newRecipient: "New recipient", editRecipient: "Edit recipient",
  agencies: { city: "City control room", district: "District office", fire: "Fire", police: "Police" },
});
