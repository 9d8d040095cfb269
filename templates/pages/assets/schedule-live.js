// The live connection and the schedule's data: starting after login, loading the schedule,
// the pushes (a changed appointment, errors), and taking an appointment into a session.
import { FromServer, ToServer } from "./protocol.js";
import { api, formatTime, ReconnectingSocket, showBanner, toast } from "./common.js";
import { $, state } from "./schedule-state.js";
import { alerts, expired, notices, session, showView } from "./schedule-app.js";
import { renderSchedule } from "./schedule-list.js";
import { closeMenu } from "./row-menu.js";

export async function start(user) {
  state.user = user;
  $("who").textContent = `${user.name} · ${user.groups.map((g) => g.name).join(", ")}`;
  showView("schedule");
  state.live = new ReconnectingSocket({ id_token: state.token }, {
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
      expired();
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
    if (exc.status === 401) return expired();
    const box = $("schedule-error");
    box.textContent = `The schedule could not be loaded: ${exc.message}`;
    box.hidden = false;
  } finally {
    if (state.pushedDuringLoad === pushed) state.pushedDuringLoad = null;
    $("schedule-loading").hidden = true;
  }
}


// -- live updates and taking an appointment -----------------------------------------------

// A patient of one's groups came online (from scheduled; one back from "exit without ending"
// is no arrival).
function isArrival(before, after) {
  return after.status === "waiting" && (!before || before.status === "scheduled");
}

export function upsert(appointment) {
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

export function take(a) {
  state.pendingTake = a.id;
  if (!state.live || !state.live.isOpen) toast("Connecting… the session opens as soon as the connection is back.");
  state.live.send({ type: ToServer.TAKE, appointment_id: a.id });
}

function openSession(appointment) {
  closeMenu();
  showView("session");
  session.open(appointment);
}

function onLiveMessage(message) {
  if (notices.handles(message)) return;
  if (message.type === FromServer.APPOINTMENT) {
    const before = state.appointments.get(message.appointment.id);
    upsert(message.appointment);
    if (isArrival(before, message.appointment)) alerts.arrived(message.appointment, formatTime(message.appointment.starts_at));
    return;
  }
  if (message.type === FromServer.ERROR) {
    if (message.ref === ToServer.TAKE) {
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
