// The clinician's page: login, the live clinic schedule, the invite and task dialogs, the row
// menu, and (through session.js) the video session. One module a concern, all of them on one
// state object (schedule-state.js):
//   login.js          login, password reset, log out, two-step login
//   schedule-live.js  the live connection, loading the schedule, pushes, taking an appointment
//   schedule-list.js  the schedule's days and rows
//   row-menu.js       a row's menu and its actions
//   invite-form.js    inviting and rescheduling
//   task-dialog.js    a new task
//   schedule-app.js   the session, arrival alerts and notices; the views; logging out
import { api } from "./common.js";
import { state } from "./schedule-state.js";
import { logout, showView } from "./schedule-app.js";
import { start } from "./schedule-live.js";
import "./login.js";
import "./invite-form.js";
import "./task-dialog.js";

(async function init() {
  if (!state.token) return showView("login");
  try {
    const user = await api("me", { token: state.token });
    await start(user);
  } catch {
    logout("");
  }
})();
