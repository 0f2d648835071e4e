"use strict";
// Sign-in through the city's identity provider (OIDC), when the server offers it
// (GET /api/v1/auth/oidc): a button in the sign-in form sends the browser to the
// provider; back here (/#oidc=signed-in) the page collects its token once from
// POST /api/v1/auth/oidc/session (an HttpOnly cookie carried it: never a URL) and keeps
// it where a password sign-in keeps it. Runs after app.js (DOMContentLoaded).
Object.assign(I18N.ko, {
  oidcButton: "기관 계정으로 로그인", oidcSubject: "기관 계정 (IdP)", oidcLink: "연결",
  oidcErrors: { bad_state: "로그인 요청이 만료되었거나 다른 창에서 시작되었습니다 · 다시 시도하세요",
    bad_nonce: "기관 계정 응답을 확인할 수 없습니다", bad_token: "기관 계정 응답을 확인할 수 없습니다",
    bad_signature: "기관 계정 응답을 확인할 수 없습니다", unknown_subject: "이 기관 계정에 연결된 CityPulse 계정이 없습니다 · 관리자에게 요청하세요",
    disabled: "사용 중지된 계정입니다", idp_error: "기관 인증 서버 오류 · 잠시 후 다시", throttled: "실패가 많아 잠시 후 다시 시도하세요",
    other: "기관 계정 로그인 실패" },
});
Object.assign(I18N.en, {
  oidcButton: "Sign in with the city's identity provider", oidcSubject: "IdP subject", oidcLink: "Link",
  oidcErrors: { bad_state: "the sign-in expired or began in another window; try again",
    bad_nonce: "the identity provider's answer could not be verified", bad_token: "the identity provider's answer could not be verified",
    bad_signature: "the identity provider's answer could not be verified", unknown_subject: "no CityPulse account is linked to this identity; ask an admin",
    disabled: "this account is disabled", idp_error: "the identity provider failed; try again shortly",
    throttled: "too many failed sign-ins; wait and try again", other: "sign-in through the identity provider failed" },
});
const oidc = { config: null };
const oidcOffered = () => !!(oidc.config && oidc.config.enabled);

function renderOidcButton() {
  const button = document.getElementById("oidc-login");
  button.hidden = !oidcOffered();
  button.textContent = (oidc.config && oidc.config.label) || t("oidcButton");
}

function showOidcError(code) {
  const err = document.getElementById("login-error");
  const errors = t("oidcErrors");
  err.textContent = errors[code] || errors.other;
  err.hidden = false;
}

async function collectOidcSession() {
  const r = await fetch("/api/v1/auth/oidc/session", { method: "POST", credentials: "same-origin" });
  if (!r.ok) { showOidcError("other"); return; }
  const body = await r.json();
  Object.assign(app, { token: body.access_token, role: body.role, user: body.username });
  sessionStorage.setItem("cp-token", app.token); sessionStorage.setItem("cp-role", app.role);
  sessionStorage.setItem("cp-user", app.user);
  await afterSignIn();
}

async function wireOidc() {
  const back = new URLSearchParams(location.hash.slice(1));
  if (back.has("oidc") || back.has("oidc_error")) history.replaceState(null, "", location.pathname + location.search);
  document.getElementById("oidc-login").addEventListener("click", () => location.assign("/api/v1/auth/oidc/login"));
  document.getElementById("lang").addEventListener("click", renderOidcButton);
  try {
    const r = await fetch("/api/v1/auth/oidc");
    oidc.config = r.ok ? await r.json() : null;
  } catch { oidc.config = null; }
  renderOidcButton();
  if (back.get("oidc") === "signed-in" && oidcOffered()) await collectOidcSession();
  else if (back.has("oidc_error")) showOidcError(back.get("oidc_error"));
}
document.addEventListener("DOMContentLoaded", wireOidc);
