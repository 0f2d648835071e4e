"use strict";
// Admin pages: per-person accounts and SMS recipients, shown to admins only (the server
// checks the role on every call too). Built from /api/v1/users and /api/v1/recipients.
// Stable hooks for browser tests: #admin-toggle, #admin-panel, #admin-accounts,
// #admin-recipients, form[data-form="new-account" | "new-recipient" | "edit-recipient" |
// "reset-password"], rows tr[data-username] / tr[data-recipient-id], buttons [data-action].
// Everything but renderAdmin and wireAdmin stays inside this function: the page's scripts
// share one global scope (app.js has its own `select`).
(() => {
  const admin = { open: false, tab: "accounts", accounts: [], recipients: [], editing: null, msg: null };
  const ROLES = ["viewer", "operator", "admin"];
  const AGENCY_KEYS = ["city", "district", "fire", "police"];

  const ATTRIBUTES = new Set(["for", "list", "role"]); // read-only or unreflected properties

  const isAdmin = () => app.role === "admin";

  // el("input", { name: "x", required: true }, child...): attributes as properties, data-*
  // and aria-* as attributes; text children as text nodes (never innerHTML).
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("data-") || k.startsWith("aria-") || ATTRIBUTES.has(k)) node.setAttribute(k, v === true ? "" : v);
      else node[k] = v;
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }
  const label = (key, control) => el("label", {}, el("span", { textContent: t(key) }), " ", control);
  const select = (name, values, labelOf, value) =>
    el("select", { name }, ...values.map((v) => el("option", { value: v, textContent: labelOf(v), selected: v === value })));
  const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
  const hhmm = (v) => (v ? v.slice(0, 5) : "");

  // A 422 names the field and the reason; other errors as the rest of the page shows them.
  async function adminError(r) {
    try {
      const body = await r.clone().json();
      if (Array.isArray(body.detail)) {
        return body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
      }
      if (typeof body.detail === "string") return body.detail;
    } catch { /* not JSON */ }
    return errorText(r);
  }

  async function adminCall(method, path, body) {
    const options = { method };
    if (body !== undefined) {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    const r = await api(path, options);
    admin.msg = r.ok ? { className: "meta", key: "adminDone" } : { className: "error", text: await adminError(r) };
    const msg = document.getElementById("admin-msg");
    if (msg) Object.assign(msg, messageOf(admin.msg));
    return r;
  }

  // The last outcome, shown in the page's language (relabelled on a language switch).
  const messageOf = (m) => ({ className: m ? m.className : "meta", textContent: m ? (m.key ? t(m.key) : m.text) : "" });

  async function loadAdmin() {
    const [users, recipients] = await Promise.all([api("/api/v1/users"), api("/api/v1/recipients")]);
    admin.accounts = users.ok ? await users.json() : [];
    admin.recipients = recipients.ok ? await recipients.json() : [];
  }

  function renderAdmin() {
    const toggle = document.getElementById("admin-toggle");
    const panel = document.getElementById("admin-panel");
    if (!toggle || !panel) return;
    toggle.hidden = !isAdmin();
    if (!isAdmin()) {
      Object.assign(admin, { open: false, accounts: [], recipients: [], editing: null, msg: null });
      panel.hidden = true;
      panel.replaceChildren();
      return;
    }
    toggle.textContent = t(admin.open ? "adminClose" : "admin");
    panel.hidden = !admin.open;
    if (admin.open) drawAdmin(panel);
  }

  async function toggleAdmin() {
    admin.open = !admin.open;
    if (admin.open) await loadAdmin();
    renderAdmin();
  }

  async function refreshAdmin() {
    await loadAdmin();
    renderAdmin();
  }

  function drawAdmin(panel) {
    const tabs = el("div", { className: "admin-tabs", role: "tablist" },
      ...["accounts", "recipients"].map((tab) => el("button", {
        type: "button", className: admin.tab === tab ? "on" : "", textContent: t(tab === "accounts" ? "accounts" : "recipients"),
        "data-tab": tab, onclick: () => { admin.tab = tab; renderAdmin(); },
      })));
    const accounts = drawAccounts();
    const recipients = drawRecipients();
    accounts.hidden = admin.tab !== "accounts";
    recipients.hidden = admin.tab !== "recipients";
    const msg = el("p", { id: "admin-msg", role: "status", ...messageOf(admin.msg) });
    panel.replaceChildren(el("h2", { id: "admin-title", textContent: t("admin") }), tabs, msg, accounts, recipients);
  }

  // ---- accounts ----------------------------------------------------------------------
  // Link to the city's identity provider (oidc.js): the subject it signs this person in as.
  function oidcLinkForm(u) {
    if (typeof oidcOffered !== "function" || !oidcOffered()) return null;
    const form = el("form", { className: "inline", "data-form": "link-oidc", "data-username": u.username },
      el("input", { name: "subject", value: u.oidc_subject || "", maxLength: 255, placeholder: t("oidcSubject") }),
      el("button", { type: "submit", textContent: t("oidcLink") }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const path = `/api/v1/users/${encodeURIComponent(u.username)}/oidc`, subject = form.subject.value.trim();
      if ((await (subject ? adminCall("PUT", path, { subject }) : adminCall("DELETE", path))).ok) refreshAdmin();
    });
    return form;
  }
  function drawAccounts() {
    const head = el("tr", {}, ...["username", "displayName", "role", "agency", "districts", "state", ""].map((k) => el("th", { textContent: k ? t(k) : "" })));
    const rows = admin.accounts.map((u) => {
      const locked = u.locked_until && Date.parse(u.locked_until) > Date.now();
      const state = !u.active ? t("disabled") : locked ? t("locked") : t("enabled");
      const toggle = el("button", { type: "button", textContent: t(u.active ? "disable" : "enable"),
        "data-action": u.active ? "disable" : "enable",
        onclick: async () => { if ((await adminCall("POST", `/api/v1/users/${encodeURIComponent(u.username)}/${u.active ? "disable" : "enable"}`)).ok) refreshAdmin(); } });
      const reset = el("form", { className: "inline", "data-form": "reset-password", "data-username": u.username },
        el("input", { name: "password", type: "password", autocomplete: "new-password", required: true, placeholder: t("newPassword") }),
        el("button", { type: "submit", textContent: t("resetPassword") }));
      reset.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        if ((await adminCall("POST", `/api/v1/users/${encodeURIComponent(u.username)}/password`, { password: reset.password.value })).ok) reset.reset();
      });
      return el("tr", { "data-username": u.username, className: u.active ? "" : "off" },
        el("td", { textContent: u.username }), el("td", { textContent: u.display_name }),
        el("td", { textContent: t(`role_${u.role}`) }), el("td", { textContent: agencyName(u.agency) }),
        el("td", { textContent: u.districts.join(", ") || t("wholeCity") }), el("td", { textContent: state }),
        el("td", { className: "actions" }, toggle, reset, oidcLinkForm(u)));
    });
    return el("div", { id: "admin-accounts" },
      el("table", { className: "admin-table", id: "accounts-table" }, el("thead", {}, head), el("tbody", {}, ...rows)),
      newAccountForm());
  }

  function newAccountForm() {
    const form = el("form", { className: "admin-form", "data-form": "new-account" },
      el("h3", { textContent: t("newAccount") }),
      label("username", el("input", { name: "username", required: true, pattern: "[a-z0-9_.\\-]{3,40}", autocomplete: "off" })),
      label("displayName", el("input", { name: "display_name", maxLength: 80 })),
      label("initialPassword", el("input", { name: "password", type: "password", required: true, autocomplete: "new-password" })),
      label("role", select("role", ROLES, (r) => t(`role_${r}`), "operator")),
      label("agency", select("agency", AGENCY_KEYS, agencyName, "city")),
      label("districts", el("input", { name: "districts", placeholder: t("districtsPh"), list: "admin-districts" })),
      districtList(),
      el("button", { type: "submit", textContent: t("create") }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { username: form.username.value.trim(), display_name: form.display_name.value.trim(), password: form.password.value,
                     role: form.role.value, agency: form.agency.value, districts: list(form.districts.value) };
      if ((await adminCall("POST", "/api/v1/users", body)).ok) { form.reset(); refreshAdmin(); }
    });
    return form;
  }

  function districtList() {
    const names = [...new Set(Object.values(app.areas).map((a) => a.district).filter(Boolean))].sort();
    return el("datalist", { id: "admin-districts" }, ...names.map((n) => el("option", { value: n })));
  }

  function agencyName(key) { return (I18N[lang].agencies || {})[key] || key; }

  // ---- recipients --------------------------------------------------------------------
  function drawRecipients() {
    const cols = ["name", "phone", "tier", "recipientRole", "agency", "language", "districts", "areasLabel", "groups", "quietHours", "state", ""];
    const head = el("tr", {}, ...cols.map((k) => el("th", { textContent: k ? t(k) : "" })));
    const rows = admin.recipients.map((r) => {
      const quiet = r.quiet_from ? `${hhmm(r.quiet_from)}–${hhmm(r.quiet_until)} KST` : "–";
      const toggle = el("button", { type: "button", textContent: t(r.active ? "disable" : "enable"),
        "data-action": r.active ? "disable" : "enable",
        onclick: async () => { if ((await adminCall("POST", `/api/v1/recipients/${r.id}/${r.active ? "disable" : "enable"}`)).ok) refreshAdmin(); } });
      const edit = el("button", { type: "button", textContent: t("edit"), "data-action": "edit",
        onclick: () => { admin.editing = r.id; renderAdmin(); } });
      return el("tr", { "data-recipient-id": String(r.id), className: r.active ? "" : "off" },
        el("td", { textContent: r.name }), el("td", { textContent: r.phone || r.phone_masked }),
        el("td", { textContent: String(r.tier) }), el("td", { textContent: t(`rrole_${r.role}`) }),
        el("td", { textContent: agencyName(r.agency) }), el("td", { textContent: r.language }),
        el("td", { textContent: r.districts.join(", ") || t("wholeCity") }), el("td", { textContent: r.areas.join(", ") }),
        el("td", { textContent: r.groups.join(", ") }), el("td", { textContent: quiet }),
        el("td", { textContent: t(r.active ? "enabled" : "disabled") }), el("td", { className: "actions" }, edit, toggle));
    });
    const editing = admin.recipients.find((r) => r.id === admin.editing);
    return el("div", { id: "admin-recipients" },
      el("table", { className: "admin-table", id: "recipients-table" }, el("thead", {}, head), el("tbody", {}, ...rows)),
      editing ? recipientForm("edit-recipient", editing) : null,
      recipientForm("new-recipient", null));
  }

  // One form for both: a new recipient (POST) or the one being edited (PATCH, all fields).
  function recipientForm(kind, r) {
    const v = r || { name: "", phone: "", tier: 1, role: "crowd", agency: "city", language: "ko", districts: [], areas: [], groups: [],
                     quiet_from: null, quiet_until: null };
    const form = el("form", { className: "admin-form", "data-form": kind, "data-recipient-id": r ? String(r.id) : undefined },
      el("h3", { textContent: r ? `${t("editRecipient")}: ${r.name}` : t("newRecipient") }),
      label("name", el("input", { name: "name", required: true, maxLength: 80, value: v.name })),
      label("phone", el("input", { name: "phone", type: "tel", required: true, placeholder: "010-0000-0000", value: v.phone || "" })),
      label("tier", select("tier", ["1", "2", "3"], (x) => x, String(v.tier))),
      label("recipientRole", select("role", ["crowd", "technical"], (x) => t(`rrole_${x}`), v.role)),
      label("agency", select("agency", AGENCY_KEYS, agencyName, v.agency)),
      label("language", select("language", ["ko", "en"], (x) => (x === "ko" ? "한국어" : "English"), v.language)),
      label("districts", el("input", { name: "districts", placeholder: t("districtsPh"), value: v.districts.join(", "), list: "admin-districts" })),
      label("areasLabel", el("input", { name: "areas", placeholder: "POI009, POI072", value: v.areas.join(", ") })),
      label("groups", el("input", { name: "groups", placeholder: t("groupsPh"), value: v.groups.join(", ") })),
      label("quietFrom", el("input", { name: "quiet_from", type: "time", value: hhmm(v.quiet_from) })),
      label("quietUntil", el("input", { name: "quiet_until", type: "time", value: hhmm(v.quiet_until) })),
      el("span", { className: "meta", textContent: t("quietNote") }),
      el("button", { type: "submit", textContent: t(r ? "save" : "create") }),
      r ? el("button", { type: "button", textContent: t("cancel"), "data-action": "cancel",
                         onclick: () => { admin.editing = null; renderAdmin(); } }) : null);
    if (!r) form.append(districtList());
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { name: form.name.value.trim(), phone: form.phone.value.trim(), tier: Number(form.tier.value), role: form.role.value,
                     agency: form.agency.value, language: form.language.value, districts: list(form.districts.value),
                     areas: list(form.areas.value), groups: list(form.groups.value),
                     quiet_from: form.quiet_from.value || null, quiet_until: form.quiet_until.value || null };
      const res = r ? await adminCall("PATCH", `/api/v1/recipients/${r.id}`, body) : await adminCall("POST", "/api/v1/recipients", body);
      if (res.ok) { admin.editing = null; form.reset(); refreshAdmin(); }
    });
    return form;
  }

  function wireAdmin() {
    const toggle = document.getElementById("admin-toggle");
    if (toggle) toggle.addEventListener("click", toggleAdmin);
  }

  Object.assign(window, { renderAdmin, wireAdmin });
})();
