// The clinician's page: login, the live clinic schedule, the invite and task dialogs, the row
// menu, and (through session.js) the video session.
import { api, ApiError, LiveConnection, el, formatDay, formatTime, showBanner, toast } from "./common.js";
import { ClinicianSession } from "./session.js";
import { ArrivalAlerts } from "./arrivals.js";
import { NoticeDialog } from "./notice-dialog.js";
import { rowWaitWords } from "./wait-time.js";

const TOKEN_KEY = "eclinic.token";
const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  user: null,
  appointments: new Map(),
  live: null,
  pendingTake: null,
  openMenu: null,
  loads: 0, // counts schedule loads: only the latest one may replace the list
  pushedDuringLoad: null, // appointments pushed live while the schedule's pages load
};

const session = new ClinicianSession({
  send: (message) => state.live && state.live.send(message),
  token: () => state.token,
  me: () => state.user,
  onClose: (words) => {
    showView("schedule");
    if (words) toast(words);
    renderSchedule();
  },
});

// -- the clinic's day: arrival alerts, wait times, notices -----------------------------------

const alerts = new ArrivalAlerts({
  button: $("alerts-toggle"),
  hint: $("alerts-hint"),
  inSession: () => !$("session-view").hidden,
  onQuietArrival: () => showWaitingInSession(true),
  onOpen: (id) => focusRow(id),
});
const notices = new NoticeDialog({ send: (message) => state.live && state.live.send(message) });

function waitingCount() {
  return [...state.appointments.values()].filter((a) => a.status === "waiting").length;
}

// A patient of one's groups came online (from scheduled; one back from "exit without ending"
// is no arrival).
function isArrival(before, after) {
  return after.status === "waiting" && (!before || before.status === "scheduled");
}

// In a session the page plays nothing: the session view says quietly how many wait, and
// highlights it for a moment on an arrival. It names nobody (the screen may be shared).
let freshArrival = null;
function showWaitingInSession(arrived = false) {
  const badge = $("session-arrivals");
  const count = waitingCount();
  const words = count ? `${count} ${count === 1 ? "patient" : "patients"} waiting` : "";
  if (badge.textContent !== words) badge.textContent = words;
  if (!arrived) return;
  badge.classList.add("fresh");
  clearTimeout(freshArrival);
  freshArrival = setTimeout(() => badge.classList.remove("fresh"), 8000);
}

// Every waiting row's wait, kept current without redrawing the schedule.
function tickWaitTimes() {
  for (const node of document.querySelectorAll('[data-testid="wait-time"]')) {
    const wait = rowWaitWords(node.dataset.since);
    if (!wait || node.textContent === wait.text) continue;
    const main = node.closest(".row-main");
    if (main && main.hasAttribute("aria-label")) {
      main.setAttribute("aria-label", main.getAttribute("aria-label").replace(node.textContent, wait.text));
    }
    node.textContent = wait.text;
    node.classList.toggle("long", wait.long);
  }
}
setInterval(tickWaitTimes, 10000);

function focusRow(id) {
  if (!$("schedule-view").hidden) {
    const target = document.querySelector(`[data-appointment-id="${CSS.escape(id)}"] .row-main`);
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.focus();
    }
  }
}

// The patient's phone, to call one who cannot connect (API.md's `patient_phone`), and whether the
// number opted out of texts (`patient_phone_opted_out`).
function contactLine(a) {
  if (!a.patient_phone) return null;
  return el("p", { class: "row-contact" },
    el("a", { href: `tel:${a.patient_phone}`, testid: "patient-phone", "aria-label": `Call ${a.patient_name} on ${a.patient_phone}`, text: a.patient_phone }),
    a.patient_phone_opted_out ? el("span", { class: "row-state", testid: "phone-opted-out", text: " · opted out of texts" }) : null);
}

// -- views --------------------------------------------------------------------------------

function showView(name) {
  $("login-view").hidden = name !== "login";
  $("schedule-view").hidden = name !== "schedule";
  $("session-view").hidden = name !== "session";
  const signedIn = name !== "login";
  $("who").hidden = !signedIn;
  $("mfa-button").hidden = !signedIn;
  $("logout").hidden = !signedIn;
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.user = null;
  if (state.live) state.live.close();
  state.live = null;
  session.close();
  state.loads += 1; // a load still under way must not fill the list again
  state.appointments.clear();
  alerts.setWaiting(0);
  showBanner("live");
  showView("login");
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("login-email").focus();
}

// -- login --------------------------------------------------------------------------------

// The form has three steps: email and password; a challenge login answered (a new password
// for an operator-created account, an authenticator code, or, where the clinic requires
// two-step login, setting up the app); a password reset (code from the mail and a new password).
const login = { step: "password", session: null };
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
  login.step = step;
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
  if (login.step === "password") {
    const password = $("login-password").value;
    if (!email || !password) throw new Error("Enter your email address and your password.");
    return api("auth/login", { method: "POST", body: { email, password } });
  }
  const code = $("login-code").value.trim();
  const newPassword = $("login-new-password").value;
  if (login.step === "reset") {
    if (!code || !newPassword) throw new Error("Enter the code from the mail and a new password.");
    await api("auth/reset", { method: "POST", body: { email, code, new_password: newPassword } });
    return null;
  }
  const body = { email, session: login.session };
  if (CODE_CHALLENGES.has(login.challenge)) body.code = code;
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
      login.session = answer.session;
      login.challenge = answer.challenge;
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
    if (login.step !== "password") loginStep("password");
    await start(answer.user);
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401 && login.step === "challenge") {
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

async function start(user) {
  state.user = user;
  $("who").textContent = `${user.name} · ${user.groups.map((g) => g.name).join(", ")}`;
  showView("schedule");
  state.live = new LiveConnection({ id_token: state.token }, {
    onMessage: onLiveMessage,
    onState: onLiveState,
    onOpen: (reconnected) => { if (reconnected) loadSchedule(); },
  });
  await loadSchedule();
  const resume = session.resumable();
  if (resume && state.appointments.has(resume)) {
    const appointment = state.appointments.get(resume);
    if (appointment.status === "in_session" && appointment.taken_by === user.email) take(appointment);
  }
}

async function onLiveState(liveState) {
  showBanner(liveState);
  if (liveState === "refused") {
    try {
      await api("me", { token: state.token });
      showBanner("reconnecting");
      setTimeout(() => state.live && state.live.connect(), 5000);
    } catch {
      logout("Your session has expired. Please log in again.");
    }
  }
}

// -- schedule -----------------------------------------------------------------------------

async function loadSchedule() {
  $("schedule-error").hidden = true;
  const load = ++state.loads;
  const pushed = new Map();
  state.pushedDuringLoad = pushed;
  try {
    const from = new Date();
    from.setHours(0, 0, 0, 0);
    const to = new Date(from.getTime() + 30 * 24 * 3600 * 1000);
    const query = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    // The answer comes in pages (at most 100 each); a busy clinic's month takes several.
    const appointments = [];
    let answer = { next: null };
    do {
      const cursor = answer.next ? `&cursor=${encodeURIComponent(answer.next)}` : "";
      answer = await api(`appointments?${query}${cursor}`, { token: state.token });
      if (load !== state.loads) return; // a newer load (after a reconnect) or a logout took over
      appointments.push(...answer.appointments);
    } while (answer.next);
    const loaded = new Map(appointments.map((a) => [a.id, a]));
    // A change pushed while the pages loaded may be newer than the page that held it.
    for (const [id, a] of pushed) {
      const read = loaded.get(id);
      if (!read || read.updated_at <= a.updated_at) loaded.set(id, a);
    }
    state.appointments = loaded;
    renderSchedule();
  } catch (exc) {
    if (load !== state.loads) return;
    if (exc.status === 401) return logout("Your session has expired. Please log in again.");
    const box = $("schedule-error");
    box.textContent = `The schedule could not be loaded: ${exc.message}`;
    box.hidden = false;
  } finally {
    if (state.pushedDuringLoad === pushed) state.pushedDuringLoad = null;
    $("schedule-loading").hidden = true;
  }
}

const STATUS_WORDS = {
  scheduled: "Scheduled",
  waiting: "Patient online",
  in_session: "Session running",
  completed: "Completed",
  cancelled: "Cancelled",
};

function statusText(a) {
  if (a.status === "in_session") {
    const who = a.taken_by === state.user.email ? "you" : (a.taken_by_name || a.taken_by);
    return `Session running with ${who}`;
  }
  if (a.status === "waiting") return "Patient online: select to start the session";
  return STATUS_WORDS[a.status];
}

// What the patient's device check in the waiting room found (README, "Device check"), while
// the patient is there.
const DEVICE_WORDS = {
  ok: "working",
  none: "none found",
  in_use: "in use by another program",
  denied: "blocked by the browser",
  error: "not working",
  silent: "no sound heard",
};

function deviceCheckText(a) {
  const check = a.device_check;
  if (!check || (a.status !== "waiting" && a.status !== "in_session")) return null;
  const words = (value) => DEVICE_WORDS[value] || value;
  return `Camera: ${words(check.camera)} · Microphone: ${words(check.microphone)}`;
}

function canOpen(a) {
  return a.status === "waiting" || (a.status === "in_session" && a.taken_by === state.user.email);
}

function renderSchedule() {
  const list = $("schedule-list");
  const focusedId = document.activeElement && document.activeElement.closest("[data-appointment-id]")
    ? document.activeElement.closest("[data-appointment-id]").dataset.appointmentId : null;
  const sorted = [...state.appointments.values()].sort((x, y) => x.starts_at.localeCompare(y.starts_at) || x.id.localeCompare(y.id));
  // A row menu open while a push redraws the list (the patient's device check, a colleague's
  // change) opens again on the new row, with the same item focused.
  const reopen = state.openMenu ? { id: state.openMenu.id, item: document.activeElement && document.activeElement.dataset.testid } : null;
  if (reopen) closeMenu();
  list.replaceChildren();
  $("schedule-empty").hidden = sorted.length > 0;
  let day = null;
  let ul = null;
  for (const a of sorted) {
    const thisDay = formatDay(a.starts_at);
    if (thisDay !== day) {
      day = thisDay;
      const heading = el("h2", { class: "day-heading", text: dayLabel(a.starts_at) });
      ul = el("ul", { class: "schedule", "aria-label": `Appointments on ${thisDay}` });
      list.append(heading, ul);
    }
    ul.append(row(a));
  }
  alerts.setWaiting(waitingCount());
  showWaitingInSession();
  const again = reopen && state.appointments.get(reopen.id);
  const rowAgain = again && list.querySelector(`[data-appointment-id="${CSS.escape(reopen.id)}"]`);
  if (rowAgain) {
    toggleMenu(rowAgain, again, rowAgain.querySelector(".menu-button"));
    const item = reopen.item && rowAgain.querySelector(`.menu [data-testid="${CSS.escape(reopen.item)}"]`);
    if (item) item.focus();
    return;
  }
  if (focusedId) {
    const again = list.querySelector(`[data-appointment-id="${CSS.escape(focusedId)}"] .row-main, [data-appointment-id="${CSS.escape(focusedId)}"] .menu-button`);
    if (again) again.focus();
  }
}

function dayLabel(iso) {
  const date = new Date(iso);
  const today = new Date();
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
  if (date.toDateString() === today.toDateString()) return `Today · ${formatDay(iso)}`;
  if (date.toDateString() === tomorrow.toDateString()) return `Tomorrow · ${formatDay(iso)}`;
  return formatDay(iso);
}

function row(a) {
  const clickable = canOpen(a);
  const hasDot = a.status !== "completed" && a.status !== "cancelled";
  const dot = hasDot
    ? el("span", { class: `dot dot-${a.status}`, testid: "status-dot", role: "img", "aria-label": STATUS_WORDS[a.status], title: STATUS_WORDS[a.status] })
    : el("span", { class: "dot dot-none", "aria-hidden": "true" });
  const text = el("span", { class: "row-text" },
    el("span", { class: "row-name", text: a.patient_name }),
    el("br"),
    el("span", { class: "row-state", text: statusText(a) }));
  const devices = deviceCheckText(a);
  if (devices) {
    const fine = a.device_check.camera === "ok" && a.device_check.microphone === "ok";
    text.append(el("br"), el("span", { class: fine ? "row-state" : "row-warning", testid: "device-check-result", text: devices }));
  }
  const wait = a.status === "waiting" && a.waiting_since ? rowWaitWords(a.waiting_since) : null;
  if (wait) {
    text.append(el("br"), el("span", { class: `wait-time${wait.long ? " long" : ""}`, testid: "wait-time", "data-since": a.waiting_since, text: wait.text }));
  }
  if (a.invite && a.invite.status === "failed" && a.status !== "cancelled" && a.status !== "completed") {
    text.append(el("br"), el("span", { class: "row-warning", text: "Invitation not delivered: use Reinvite user." }));
  }
  const main = el(clickable ? "button" : "div", {
    class: "row-main",
    type: clickable ? "button" : undefined,
    "aria-label": clickable ? [a.patient_name, formatTime(a.starts_at), statusText(a), wait && wait.text, devices].filter(Boolean).join(", ") : undefined,
  }, dot, el("span", { class: "row-time", text: formatTime(a.starts_at) }), text);
  const menuButton = el("button", {
    class: "menu-button", type: "button", testid: "row-menu",
    "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": `Options for ${a.patient_name}`,
    text: "⋮",
  });
  const item = el("li", {
    class: `row status-${a.status}${clickable ? " clickable" : ""}`,
    testid: "appointment-row",
    "data-appointment-id": a.id,
    "data-status": a.status,
  }, main, contactLine(a), menuButton);
  item.addEventListener("click", (event) => {
    if (event.target.closest(".menu-button, .menu, .row-contact")) return;
    if (canOpen(a)) take(a);
  });
  menuButton.addEventListener("click", (event) => {
    event.stopPropagation();
    toggleMenu(item, a, menuButton);
  });
  return item;
}

// -- row menu -----------------------------------------------------------------------------

const MENU = [
  { testid: "menu-notice", label: "Send a notice", allowed: ["waiting"], shown: ["waiting"], run: (a) => notices.open(a) },
  { testid: "menu-reschedule", label: "Reschedule", allowed: ["scheduled", "waiting"], run: openReschedule },
  { testid: "menu-cancel", label: "Cancel appointment", allowed: ["scheduled", "waiting"], run: cancelAppointment },
  { testid: "menu-reinvite", label: "Reinvite user", allowed: ["scheduled", "waiting", "in_session"], run: reinvite },
  { testid: "menu-new-task", label: "New task", allowed: null, run: openTaskDialog },
  { testid: "menu-complete", label: "Mark as complete", allowed: ["scheduled", "waiting", "in_session"], run: complete },
];

function closeMenu(returnFocus = false) {
  if (!state.openMenu) return;
  const { menu, button } = state.openMenu;
  menu.remove();
  button.setAttribute("aria-expanded", "false");
  if (returnFocus) button.focus();
  state.openMenu = null;
}

function toggleMenu(item, a, button) {
  const wasOpen = state.openMenu && state.openMenu.button === button;
  closeMenu();
  if (wasOpen) return;
  const menu = el("ul", { class: "menu", role: "menu", "aria-label": `Options for ${a.patient_name}` });
  for (const entry of MENU) {
    if (entry.shown && !entry.shown.includes(a.status)) continue;
    const enabled = !entry.allowed || entry.allowed.includes(a.status);
    const itemButton = el("button", {
      type: "button", role: "menuitem", testid: entry.testid, "aria-disabled": enabled ? "false" : "true",
      text: entry.label,
    });
    itemButton.addEventListener("click", (event) => {
      event.stopPropagation();
      closeMenu();
      const current = state.appointments.get(a.id) || a;
      if (entry.allowed && !entry.allowed.includes(current.status)) {
        toast(`Not possible: the appointment is ${STATUS_WORDS[current.status].toLowerCase()}.`, { error: true });
        return;
      }
      entry.run(current);
    });
    menu.append(el("li", { role: "none" }, itemButton));
  }
  menu.addEventListener("keydown", (event) => {
    const items = [...menu.querySelectorAll('[role="menuitem"]')];
    const index = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown") { event.preventDefault(); items[(index + 1) % items.length].focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    if (event.key === "Escape") { event.preventDefault(); closeMenu(true); }
    if (event.key === "Tab") closeMenu();
  });
  item.append(menu);
  button.setAttribute("aria-expanded", "true");
  state.openMenu = { menu, button, id: a.id };
  menu.querySelector('[role="menuitem"]').focus();
}

document.addEventListener("click", (event) => {
  if (state.openMenu && !event.target.closest(".menu")) closeMenu();
});

async function rowAction(a, path, success) {
  try {
    const updated = await api(`appointments/${a.id}/${path}`, { method: "POST", token: state.token });
    upsert(updated);
    toast(success(updated));
  } catch (exc) {
    if (exc.status === 401) return logout("Your session has expired. Please log in again.");
    toast(exc.message, { error: true });
  }
}

function cancelAppointment(a) {
  return rowAction(a, "cancel", () => `Appointment with ${a.patient_name} cancelled. The patient has been told by email.`);
}

function reinvite(a) {
  return rowAction(a, "reinvite", (u) => u.invite.status === "sent"
    ? `Invitation sent again to ${u.patient_email}.`
    : `The invitation to ${u.patient_email} could not be delivered. Check the address and try again.`);
}

function complete(a) {
  return rowAction(a, "complete", () => `Appointment with ${a.patient_name} marked as complete.`);
}

// -- dialogs ------------------------------------------------------------------------------

function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const formError = form.querySelector(".form-error");
  formError.hidden = true;
}

function showError(form, exc, fieldIds) {
  const id = exc.field && fieldIds[exc.field];
  if (id) {
    const input = $(id);
    input.setAttribute("aria-invalid", "true");
    $(`${id}-error`).textContent = exc.message;
    input.focus();
    return;
  }
  const formError = form.querySelector(".form-error");
  formError.textContent = exc.message;
  formError.hidden = false;
}

function nextQuarterHour() {
  const date = new Date(Date.now() + 15 * 60 * 1000);
  date.setMinutes(Math.ceil(date.getMinutes() / 15) * 15, 0, 0);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

$("invite-button").addEventListener("click", () => {
  const form = $("invite-form");
  form.reset();
  clearErrors(form);
  inviteMode(null);
  $("invite-starts-at").value = nextQuarterHour();
  const groups = $("invite-group");
  groups.replaceChildren(...state.user.groups.map((g) => el("option", { value: g.id, text: g.name })));
  $("invite-dialog").showModal();
  $("invite-starts-at").focus();
});
$("invite-cancel").addEventListener("click", () => $("invite-dialog").close());

$("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const local = $("invite-starts-at").value;
  const startsAt = local && !Number.isNaN(new Date(local).getTime()) ? new Date(local).toISOString() : local;
  if (rescheduling) {
    await reschedule(form, rescheduling, startsAt);
    return;
  }
  const body = {
    starts_at: startsAt,
    duration_minutes: Number($("invite-duration").value),
    patient_name: $("invite-patient-name").value,
    patient_email: $("invite-patient-email").value.trim(),
    group: $("invite-group").value,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
  const phone = $("invite-patient-phone").value.trim();
  if (phone) body.patient_phone = phone;
  $("invite-send").disabled = true;
  try {
    const created = await api("appointments", { method: "POST", body, token: state.token });
    upsert(created);
    $("invite-dialog").close();
    toast(created.invite.status === "sent"
      ? `Invitation sent to ${created.patient_email}.`
      : `The appointment is saved, but the invitation to ${created.patient_email} could not be delivered. Use Reinvite user to try again.`,
    { error: created.invite.status !== "sent" });
  } catch (exc) {
    if (exc.status === 401) { $("invite-dialog").close(); return logout("Your session has expired. Please log in again."); }
    showError(form, exc, {
      starts_at: "invite-starts-at", duration_minutes: "invite-duration", patient_name: "invite-patient-name",
      patient_email: "invite-patient-email", group: "invite-group", timezone: "invite-starts-at",
      patient_phone: "invite-patient-phone",
    });
  } finally {
    $("invite-send").disabled = false;
  }
});

// The invite form serves "Reschedule" too: the appointment's time and duration filled in, the
// patient's details shown but not editable; it sends POST .../reschedule.
let rescheduling = null;
function inviteMode(a) {
  rescheduling = a;
  const moving = Boolean(a);
  $("invite-title").textContent = moving ? "Reschedule appointment" : "Invite for session";
  $("invite-send").textContent = moving ? "Move and tell the patient" : "Send";
  for (const id of ["invite-patient-name", "invite-patient-email", "invite-patient-phone", "invite-group"]) {
    $(id).closest(".form-row").hidden = moving;
  }
  for (const extra of $("invite-duration").querySelectorAll("[data-extra]")) extra.remove();
  const summary = $("reschedule-for");
  summary.hidden = !moving;
  summary.textContent = moving
    ? `${a.patient_name} (${a.patient_email}) gets the invitation again with the new time and the same link. The mail shows the time in ${a.timezone}.`
    : "";
}

function datetimeLocal(iso) {
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function openReschedule(a) {
  const form = $("invite-form");
  form.reset();
  clearErrors(form);
  inviteMode(a);
  $("invite-starts-at").value = datetimeLocal(a.starts_at);
  const duration = $("invite-duration");
  if (![...duration.options].some((option) => Number(option.value) === a.duration_minutes)) {
    duration.append(el("option", { value: a.duration_minutes, text: `${a.duration_minutes} minutes`, "data-extra": true }));
  }
  duration.value = String(a.duration_minutes);
  $("invite-dialog").showModal();
  $("invite-starts-at").focus();
}

async function reschedule(form, a, startsAt) {
  const body = { starts_at: startsAt, duration_minutes: Number($("invite-duration").value), timezone: a.timezone };
  $("invite-send").disabled = true;
  try {
    const moved = await api(`appointments/${a.id}/reschedule`, { method: "POST", body, token: state.token });
    upsert(moved);
    $("invite-dialog").close();
    const same = moved.starts_at === a.starts_at && moved.duration_minutes === a.duration_minutes;
    toast(same
      ? `The time of the appointment with ${a.patient_name} has not changed; nothing was sent.`
      : `Appointment with ${a.patient_name} moved to ${formatDay(moved.starts_at)}, ${formatTime(moved.starts_at)}. The patient has been sent the new time.`);
  } catch (exc) {
    if (exc.status === 401) { $("invite-dialog").close(); return logout("Your session has expired. Please log in again."); }
    showError(form, exc, { starts_at: "invite-starts-at", duration_minutes: "invite-duration", timezone: "invite-starts-at" });
  } finally {
    $("invite-send").disabled = false;
  }
}

let taskFor = null;
function openTaskDialog(a) {
  taskFor = a;
  const form = $("task-form");
  form.reset();
  clearErrors(form);
  $("task-for").textContent = `For ${a.patient_name}, ${formatDay(a.starts_at)} ${formatTime(a.starts_at)}`;
  $("task-title").value = `Follow-up: ${a.patient_name}`;
  $("task-dialog").showModal();
  $("task-title").select();
}
$("task-cancel").addEventListener("click", () => $("task-dialog").close());
$("task-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  $("task-create").disabled = true;
  try {
    await api(`appointments/${taskFor.id}/tasks`, {
      method: "POST", token: state.token, body: { title: $("task-title").value, note: $("task-note").value },
    });
    $("task-dialog").close();
    toast(`Task created in the document workflow for ${taskFor.patient_name}.`);
  } catch (exc) {
    showError(form, exc, { title: "task-title", note: "task-note" });
  } finally {
    $("task-create").disabled = false;
  }
});

// -- live updates and taking an appointment -----------------------------------------------

function upsert(appointment) {
  if (state.pushedDuringLoad) state.pushedDuringLoad.set(appointment.id, appointment);
  state.appointments.set(appointment.id, appointment);
  renderSchedule();
  session.appointmentChanged(appointment);
  if (state.pendingTake === appointment.id && appointment.status === "in_session"
      && appointment.taken_by === state.user.email) {
    state.pendingTake = null;
    openSession(appointment);
  }
}

function take(a) {
  state.pendingTake = a.id;
  if (!state.live || !state.live.isOpen) toast("Connecting… the session opens as soon as the connection is back.");
  state.live.send({ type: "take", appointment_id: a.id });
}

function openSession(appointment) {
  closeMenu();
  showView("session");
  session.open(appointment);
}

function onLiveMessage(message) {
  if (notices.handles(message)) return;
  if (message.type === "appointment") {
    const before = state.appointments.get(message.appointment.id);
    upsert(message.appointment);
    if (isArrival(before, message.appointment)) alerts.arrived(message.appointment, formatTime(message.appointment.starts_at));
    return;
  }
  if (message.type === "error") {
    if (message.ref === "take") {
      state.pendingTake = null;
      toast(message.code === "conflict"
        ? "A colleague has already taken this appointment, or the patient has left the waiting room."
        : message.message, { error: true });
      return;
    }
    if (session.handles(message)) return;
    toast(message.message, { error: true });
    return;
  }
  session.onMessage(message);
}

// -- start ----------------------------------------------------------------------------------

(async function init() {
  if (!state.token) return showView("login");
  try {
    const user = await api("me", { token: state.token });
    await start(user);
  } catch {
    logout("");
  }
})();
