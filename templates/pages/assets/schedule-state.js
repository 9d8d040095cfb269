// The clinician's page's state, in one object: every module of the page reads and writes it
// here, and none keeps state of its own at module level.
export const TOKEN_KEY = "eclinic.token";

export const $ = (id) => document.getElementById(id);

export const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  user: null,
  appointments: new Map(),
  live: null,
  pendingTake: null,
  openMenu: null, // the row menu that is open: { menu, button, id }
  loads: 0, // counts schedule loads: only the latest one may replace the list
  pushedDuringLoad: null, // appointments pushed live while the schedule's pages load
  login: { step: "password", session: null, challenge: null }, // the login form's step (login.js)
  rescheduling: null, // the appointment the invite form moves, null while it invites (invite-form.js)
  taskFor: null, // the appointment the task dialog is for (task-dialog.js)
  freshArrival: null, // the timer that ends the session view's arrival highlight
};
