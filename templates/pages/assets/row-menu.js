// A row's menu: its items by the appointment's status, the keyboard (menu.js), and the row
// actions it runs (cancel, reinvite, complete; reschedule, new task, notice and add guest open dialogs).
import { api, el, toast } from "./common.js";
import { menuKeyboard } from "./menu.js";
import { clinicStatusWords } from "./status-words.js";
import { state } from "./schedule-state.js";
import { expired, notices, session } from "./schedule-app.js";
import { upsert } from "./schedule-live.js";
import { openReschedule } from "./invite-form.js";
import { openTaskDialog } from "./task-dialog.js";

const MENU = [
  { testid: "menu-notice", label: "Send a notice", allowed: ["waiting"], shown: ["waiting"], run: (a) => notices.open(a) },
  { testid: "menu-reschedule", label: "Reschedule", allowed: ["scheduled", "waiting"], run: openReschedule },
  { testid: "menu-cancel", label: "Cancel appointment", allowed: ["scheduled", "waiting"], run: cancelAppointment },
  { testid: "menu-reinvite", label: "Reinvite user", allowed: ["scheduled", "waiting", "in_session"], run: reinvite },
  { testid: "menu-add-guest", label: "Add guest", allowed: ["scheduled", "waiting", "in_session"], run: (a) => session.guests.open(a) },
  { testid: "menu-new-task", label: "New task", allowed: null, run: openTaskDialog },
  { testid: "menu-complete", label: "Mark as complete", allowed: ["scheduled", "waiting", "in_session"], run: complete },
];

export function closeMenu(returnFocus = false) {
  if (!state.openMenu) return;
  const { menu, button } = state.openMenu;
  menu.remove();
  button.setAttribute("aria-expanded", "false");
  if (returnFocus) button.focus();
  state.openMenu = null;
}

export function toggleMenu(item, a, button) {
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
        toast(`Not possible: the appointment is ${clinicStatusWords(current.status).toLowerCase()}.`, { error: true });
        return;
      }
      entry.run(current);
    });
    menu.append(el("li", { role: "none" }, itemButton));
  }
  menuKeyboard(menu, {
    items: () => [...menu.querySelectorAll('[role="menuitem"]')],
    close: (returnFocus) => closeMenu(returnFocus),
    closeOnTab: true,
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
    if (exc.status === 401) return expired();
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
