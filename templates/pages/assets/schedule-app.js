// The parts of the clinician's page that the others use: the video session, the arrival
// alerts and the notice dialog; which view shows; logging out.
import { showBanner, toast } from "./common.js";
import { ClinicianSession } from "./session.js";
import { ArrivalAlerts } from "./arrivals.js";
import { NoticeDialog } from "./notice-dialog.js";
import { $, state, TOKEN_KEY } from "./schedule-state.js";
import { focusRow, renderSchedule, showWaitingInSession } from "./schedule-list.js";

export const session = new ClinicianSession({
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

export const alerts = new ArrivalAlerts({
  button: $("alerts-toggle"),
  hint: $("alerts-hint"),
  inSession: () => !$("session-view").hidden,
  onQuietArrival: () => showWaitingInSession(true),
  onOpen: (id) => focusRow(id),
});
export const notices = new NoticeDialog({ send: (message) => state.live && state.live.send(message) });

// -- views --------------------------------------------------------------------------------

export function showView(name) {
  $("login-view").hidden = name !== "login";
  $("schedule-view").hidden = name !== "schedule";
  $("session-view").hidden = name !== "session";
  const signedIn = name !== "login";
  $("who").hidden = !signedIn;
  $("mfa-button").hidden = !signedIn;
  $("logout").hidden = !signedIn;
}

export function logout(message) {
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

export function expired() {
  return logout("Your session has expired. Please log in again.");
}
