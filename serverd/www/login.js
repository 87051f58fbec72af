// custos dashboard - the login form: a person's name and password, or an API
// token; both POST /api/v1/session.

import { api } from "/ui/api.js";
import { $, h, main, put } from "/ui/dom.js";
import { start } from "/ui/app.js";

// Two ways in, one session: a person's name and password (a user of
// /api/v1/users; the session has the user's role) or an API token. Both POST
// /api/v1/session and get the same cookie. A login window closed after
// repeated failures (429) is said with its seconds, from retry_after_s.
export function loginError(x, unknown) {
  if (x.status === 401) return unknown;
  if (x.status === 429) {
    const s = x.body && Number.isFinite(x.body.retry_after_s) ? x.body.retry_after_s : null;
    return "Too many failed logins: try again " + (s === null ? "later." : "in " + s + " s.");
  }
  return x.message;
}

export function showLogin(msg) {
  $("#bar").hidden = true;
  document.body.classList.remove("wall");
  const note = h("p", { class: "muted", role: "status", id: "login-msg" }, msg || "");
  const user = h("input", { type: "text", id: "login-user", name: "user", autocomplete: "username",
    required: true, "aria-label": "Name", placeholder: "Name", autocapitalize: "none", spellcheck: "false" });
  const pass = h("input", { type: "password", id: "login-password", name: "password", autocomplete: "current-password",
    required: true, "aria-label": "Password", placeholder: "Password" });
  const pwErr = h("p", { class: "error", role: "alert", id: "pw-error" }, "");
  const pwForm = h("form", { id: "pw-form" }, user, pass, pwErr, h("button", { type: "submit", id: "pw-submit" }, "Log in"));
  const err = h("p", { class: "error", role: "alert", id: "login-error" }, "");
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "off",
    required: true, "aria-label": "API token", placeholder: "API token" });
  const form = h("form", { id: "login-form" },
    input, err, h("button", { type: "submit", id: "login-submit" }, "Log in with the token"));
  const go = async (btn, body, errEl, unknown, clear) => {
    errEl.textContent = "";
    btn.disabled = true;
    try {
      await api("POST", "/api/v1/session", body);
      clear.value = "";
      await start(true);
    } catch (x) {
      errEl.textContent = loginError(x, unknown);
    } finally {
      btn.disabled = false;
    }
  };
  pwForm.addEventListener("submit", (e) => {
    e.preventDefault();
    go($("#pw-submit"), { user: user.value.trim(), password: pass.value }, pwErr, "Unknown name or wrong password.", pass);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go($("#login-submit"), { token: input.value.trim() }, err, "Unknown token.", input);
  });
  put(main(), h("div", { class: "login" },
    h("h1", {}, "custos"), note,
    h("p", { class: "muted" }, "Log in with your name and password,"), pwForm,
    h("p", { class: "muted" }, "or with an API token."), form));
  main().dataset.ready = "login";
  user.focus();
}
