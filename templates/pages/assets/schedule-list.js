// The schedule list: the days and their rows (status, wait time, the patient's device check,
// phone), kept current, and the session view's count of waiting patients.
import { el, formatDay, formatTime } from "./common.js";
import { rowWaitWords } from "./wait-time.js";
import { clinicStatusWords } from "./status-words.js";
import { $, state } from "./schedule-state.js";
import { alerts } from "./schedule-app.js";
import { take } from "./schedule-live.js";
import { closeMenu, toggleMenu } from "./row-menu.js";
import { guestBadge, scheduleGuests } from "./participants.js";

function waitingCount() {
  return [...state.appointments.values()].filter((a) => a.status === "waiting").length;
}

// In a session the page plays nothing: the session view says quietly how many wait, and
// highlights it for a moment on an arrival. It names nobody (the screen may be shared).
export function showWaitingInSession(arrived = false) {
  const badge = $("session-arrivals");
  const count = waitingCount();
  const words = count ? `${count} ${count === 1 ? "patient" : "patients"} waiting` : "";
  if (badge.textContent !== words) badge.textContent = words;
  if (!arrived) return;
  badge.classList.add("fresh");
  clearTimeout(state.freshArrival);
  state.freshArrival = setTimeout(() => badge.classList.remove("fresh"), 8000);
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

export function focusRow(id) {
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


function statusText(a) {
  if (a.status === "in_session") {
    const who = a.taken_by === state.user.email ? "you" : (a.taken_by_name || a.taken_by);
    return `Session running with ${who}`;
  }
  if (a.status === "waiting") return "Patient online: select to start the session";
  return clinicStatusWords(a.status);
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

// A badge per guest of the appointment ("Guest: interpreter (online)"), while it is open.
function guestBadges(a) {
  if (a.status === "completed" || a.status === "cancelled") return [];
  return scheduleGuests(a).map((guest) => {
    const badge = guestBadge(guest);
    return {
      label: badge.label,
      node: el("span", { class: `guest-badge${badge.online ? " online" : ""}`, testid: "guest-badge", "data-status": guest.status, title: badge.label },
        badge.text, el("span", { class: "visually-hidden", text: `, ${guest.name}` })),
    };
  });
}

function canOpen(a) {
  return a.status === "waiting" || (a.status === "in_session" && a.taken_by === state.user.email);
}

export function renderSchedule() {
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
    ? el("span", { class: `dot dot-${a.status}`, testid: "status-dot", role: "img", "aria-label": clinicStatusWords(a.status), title: clinicStatusWords(a.status) })
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
  const guests = guestBadges(a);
  if (guests.length) text.append(el("br"), el("span", { class: "row-guests" }, ...guests.map((g) => g.node)));
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
    "aria-label": clickable ? [a.patient_name, formatTime(a.starts_at), statusText(a), wait && wait.text, devices, ...guests.map((g) => g.label)].filter(Boolean).join(", ") : undefined,
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
