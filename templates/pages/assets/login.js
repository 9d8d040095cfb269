// The clinician's login: email and password, the challenge steps, the password reset, log out,
// and turning on two-step login (the authenticator app).
import { api, ApiError, el, toast } from "./common.js";
import { $, state, TOKEN_KEY } from "./schedule-state.js";
import { logout } from "./schedule-app.js";
import { start } from "./schedule-live.js";

// The form has three steps: email and password; a challenge login answered (a new password
// for an operator-created account, an authenticator code, or, where the clinic requires
// two-step login, setting up the app); a password reset (code from the mail and a new password).
const CODE_CHALLENGES = new Set(["mfa_code", "mfa_setup"]);

// What an authenticator app scans (the QR code the server drew) and the same key as text, for
// an app that cannot scan or one on this very phone.
function renderAuthenticator(container, setup) {
  container.replaceChildren(
    el("p", { class: "hint", text: "Scan this code with your authenticator app, or type the key below into it." }),
    el("img", { src: setup.qr_code, alt: "QR code for your authenticator app", width: 200, height: 200 }),
    el("p", {}, "Key: ", el("code", { testid: "mfa-secret", text: setup.secret.replace(/(.{4})(?=.)/g, "$1 ") })),
    el("p", {}, el("a", { href: setup.otpauth_uri, text: "Open in an authenticator app on this device" })),
  );
  container.hidden = false;
}

function loginStep(step, { challenge, message, setup } = {}) {
  state.login.step = step;
  const needsPassword = step === "password";
  const needsCode = step === "reset" || CODE_CHALLENGES.has(challenge);
  if (setup) renderAuthenticator($("login-authenticator"), setup);
  else $("login-authenticator").hidden = true;
  const needsNew = step === "reset" || challenge === "new_password_required";
  $("login-password").closest(".form-row").hidden = !needsPassword;
  $("login-code-row").hidden = !needsCode;
  $("login-new-password-row").hidden = !needsNew;
  $("login-code-label").textContent = step === "reset" ? "Code from the mail we sent you" : "Code from your authenticator app";
  $("login-email").readOnly = !needsPassword;
  $("login-forgot").hidden = !needsPassword;
  $("login-submit").textContent = step === "reset" ? "Set new password" : needsPassword ? "Log in" : "Continue";
  $("login-code").value = "";
  $("login-new-password").value = "";
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  (needsCode ? $("login-code") : needsNew ? $("login-new-password") : $("login-password")).focus();
}

async function loginRequest(email) {
  if (state.login.step === "password") {
    const password = $("login-password").value;
    if (!email || !password) throw new Error("Enter your email address and your password.");
    return api("auth/login", { method: "POST", body: { email, password } });
  }
  const code = $("login-code").value.trim();
  const newPassword = $("login-new-password").value;
  if (state.login.step === "reset") {
    if (!code || !newPassword) throw new Error("Enter the code from the mail and a new password.");
    await api("auth/reset", { method: "POST", body: { email, code, new_password: newPassword } });
    return null;
  }
  const body = { email, session: state.login.session };
  if (CODE_CHALLENGES.has(state.login.challenge)) body.code = code;
  else body.new_password = newPassword;
  if (!body.code && !body.new_password) throw new Error(body.code === undefined ? "Choose a new password." : "Enter the code from your authenticator app.");
  return api("auth/challenge", { method: "POST", body });
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("login-error");
  error.hidden = true;
  const email = $("login-email").value.trim();
  $("login-submit").disabled = true;
  try {
    const answer = await loginRequest(email);
    if (answer === null) {
      $("login-password").value = "";
      loginStep("password", { message: "Your password has been changed. Log in with the new one." });
      return;
    }
    if (answer.challenge) {
      state.login.session = answer.session;
      state.login.challenge = answer.challenge;
      const messages = {
        mfa_code: "Enter the 6-digit code from your authenticator app.",
        mfa_setup: "Your practice requires two-step login. Add eClinic to an authenticator app on your phone, then enter the code it shows.",
        new_password_required: "Choose a new password for your account.",
      };
      loginStep("challenge", {
        challenge: answer.challenge,
        message: messages[answer.challenge],
        setup: answer.challenge === "mfa_setup" ? answer : undefined,
      });
      return;
    }
    state.token = answer.id_token;
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("login-password").value = "";
    if (state.login.step !== "password") loginStep("password");
    await start(answer.user);
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401 && state.login.step === "challenge") {
      $("login-password").value = "";
      loginStep("password", { message: "That code was wrong or the login took too long. Log in again." });
      return;
    }
    error.textContent = exc instanceof ApiError && exc.status === 401
      ? "Email or password is incorrect. Check both and try again."
      : exc.message;
    error.hidden = false;
  } finally {
    $("login-submit").disabled = false;
  }
});

$("login-forgot").addEventListener("click", async (event) => {
  event.preventDefault();
  const email = $("login-email").value.trim();
  if (!email) {
    const error = $("login-error");
    error.textContent = "Enter your email address first; we will mail you a code to reset your password.";
    error.hidden = false;
    $("login-email").focus();
    return;
  }
  try {
    await api("auth/forgot", { method: "POST", body: { email } });
    loginStep("reset", { message: "If that address has an account, we have mailed it a code. Enter it with a new password." });
  } catch (exc) {
    const error = $("login-error");
    error.textContent = exc.message;
    error.hidden = false;
  }
});

$("logout").addEventListener("click", () => logout("You have logged out."));

// -- two-step login (authenticator app) ------------------------------------------------------

function mfaError(message) {
  const error = $("mfa-error");
  error.textContent = message || "";
  error.hidden = !message;
}

$("mfa-button").addEventListener("click", async () => {
  const dialog = $("mfa-dialog");
  $("mfa-form").reset();
  mfaError("");
  $("mfa-authenticator").replaceChildren(el("p", { class: "hint", text: "Preparing your key…" }));
  $("mfa-submit").disabled = true;
  dialog.showModal();
  try {
    renderAuthenticator($("mfa-authenticator"), await api("me/mfa", { method: "POST", token: state.token }));
    $("mfa-submit").disabled = false;
    $("mfa-code").focus();
  } catch (exc) {
    $("mfa-authenticator").replaceChildren();
    mfaError(exc instanceof ApiError && exc.status === 401
      ? "To set up two-step login, log out and log in again, then try once more."
      : exc.message);
  }
});

$("mfa-cancel").addEventListener("click", () => $("mfa-dialog").close());

$("mfa-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("mfa-code").value.trim();
  if (!/^[0-9]{6}$/.test(code)) {
    mfaError("Enter the 6-digit code your authenticator app shows now.");
    $("mfa-code").focus();
    return;
  }
  $("mfa-submit").disabled = true;
  try {
    await api("me/mfa/verify", { method: "POST", body: { code }, token: state.token });
    $("mfa-dialog").close();
    toast("Two-step login is on. From your next login, eClinic asks for a code from the app.");
  } catch (exc) {
    mfaError(exc instanceof ApiError && exc.status === 400
      ? "That code is not the one the app shows now. Enter the current code (it changes every 30 seconds)."
      : exc.message);
    $("mfa-code").select();
  } finally {
    $("mfa-submit").disabled = false;
  }
});
