// The patient's waiting room and session, opened from the invitation's button; a guest's link
// (an interpreter, a family member, a colleague) opens the same page, in the guest's words and
// without what only the patient does (patient-only.js). The link's token (the last part of the
// address) is the only credential.
import { FromServer, ToServer } from "./protocol.js";
import { api, el, formatDateTime, formatTime, ReconnectingSocket, showBanner } from "./common.js";
import { ChatLog, wireChatForm } from "./chat.js";
import { CONNECTING, patientStatusWords } from "./status-words.js";
import { PatientCall } from "./patient-call.js";
import { DeviceCheck } from "./device-check.js";
import { showInAppNotice } from "./inapp.js";
import { patientWaitWords } from "./wait-time.js";
import { reportDeviceCheck, ScreenshotConsent } from "./patient-only.js";
import { guestStatusWords, guestWording, showOthers } from "./guest-visit.js";

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const state = {
  appointment: null, live: null, status: null, ended: false, chat: new ChatLog($("chat-log")), documentIds: new Set(), stream: null,
  participant: { role: "patient" }, // GET /api/visit/{token}'s `participant`: the patient, or a guest
  call: null, // the PatientCall, once the page knows whose link it is
  deviceCheck: null,
};
const isGuest = () => state.participant.role === "guest";
const statusWords = (status) => (isGuest() ? guestStatusWords(status) : patientStatusWords(status));

function fail(message) {
  $("visit-view").hidden = true;
  const box = $("visit-error");
  box.textContent = message;
  box.hidden = false;
}

// `rejoin`: the status was read once the socket is live (not pushed): a running call is joined.
function setStatus(status, message, waitingSince, rejoin = false) {
  state.status = status;
  state.waitingSince = status === "waiting" ? waitingSince || state.waitingSince || null : null;
  showWaitTime();
  if (status !== "waiting" && status !== "scheduled") clearNotice(); // it was for the wait
  $("waiting-status").textContent = message;
  $("waiting-status").dataset.status = status;
  const inSession = status === "in_session";
  $("chat-input").disabled = !inSession;
  $("chat-send").disabled = !inSession;
  $("chat-hint").hidden = inSession;
  state.call.statusChanged(status, { rejoin });
  state.deviceCheck.statusChanged(status);
}

function end(message, kind) {
  state.ended = true;
  state.waitingSince = null;
  showWaitTime();
  clearNotice();
  if (state.live) state.live.close();
  state.call.stop();
  state.deviceCheck.stop();
  stopCamera();
  const box = $("session-ended-message");
  box.textContent = message;
  box.hidden = false;
  box.dataset.kind = kind;
  $("waiting-status").hidden = true;
  $("chat-input").disabled = true;
  $("chat-send").disabled = true;
  showBanner("live");
}

// -- while waiting: how long, and the clinic's notices -------------------------------------------

// The clinic sees the patient from the moment the page is in the waiting room; the wait counts
// from the appointment's `waiting_since` (the server's), kept current.
function showWaitTime() {
  const line = $("waiting-time");
  const waited = state.status === "waiting" && state.waitingSince && !isGuest() ? patientWaitWords(state.waitingSince) : null;
  line.hidden = !waited;
  line.textContent = waited ? `Your clinic can see that you are here. ${waited}` : "";
}
setInterval(showWaitTime, 15000);

// The latest notice from the clinic ("Running about 10 minutes late"), announced by its live
// region; kept for this tab (sessionStorage) so that a reload still shows it while waiting.
const noticeKey = () => `eclinic.notice.${state.appointment ? state.appointment.id : ""}`;

function showNotice(notice, { remember = true } = {}) {
  if (!state.appointment || notice.appointment_id !== state.appointment.id) return;
  const card = el("div", { class: "clinic-notice" },
    el("p", { class: "visually-hidden", text: "Message from the clinic:" }),
    el("p", { class: "notice-text", text: notice.text }),
    el("p", { class: "notice-from", text: `${notice.from_name}, ${formatTime(notice.at)}` }));
  $("waiting-notice").replaceChildren(card);
  card.scrollIntoView({ block: "nearest" });
  if (!remember) return;
  try {
    sessionStorage.setItem(noticeKey(), JSON.stringify(notice));
  } catch {
    // shown in any case
  }
}

function restoreNotice() {
  try {
    const kept = JSON.parse(sessionStorage.getItem(noticeKey()) || "null");
    if (kept) showNotice(kept, { remember: false });
  } catch {
    // nothing kept
  }
}

function clearNotice() {
  $("waiting-notice").replaceChildren();
  try {
    sessionStorage.removeItem(noticeKey());
  } catch {
    // nothing kept
  }
}

function addChat(message) {
  state.chat.add(message);
}

wireChatForm($("chat-form"), $("chat-input"), (text) => {
  if (!state.live) return false;
  state.live.send({ type: ToServer.CHAT, appointment_id: state.appointment.id, text });
  return true;
});

// -- camera and microphone ------------------------------------------------------------------

async function startCamera() {
  const help = $("media-help");
  help.hidden = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    help.textContent = "This browser cannot use a camera here. Please open the link in a current Chrome, Edge, Firefox or Safari.";
    help.hidden = false;
    state.deviceCheck.open(); // so that the clinician hears of it
    return null;
  }
  // The device check opens camera and microphone (each alone when both together fail, so that
  // a broken camera still leaves the microphone) and says which one failed and what to do.
  const opened = await state.deviceCheck.open();
  state.stream = opened.stream;
  $("local-video").srcObject = opened.stream;
  if (opened.stream) {
    // A new stream starts unmuted with the camera on: keep what the patient chose.
    state.call.setMuted(opened.stream, state.call.muted);
    for (const track of opened.stream.getVideoTracks()) track.enabled = !state.call.videoOffReason();
    return opened.stream;
  }
  const denied = opened.camera === "denied" || opened.microphone === "denied";
  help.replaceChildren();
  help.append(denied
    ? "Your browser has blocked the camera or microphone. Click the camera symbol in the address bar, choose Allow, then select Try again. Your clinician can still see that you are waiting."
    : "No camera or microphone was found, or another program is using it. Connect or free it, then select Try again.");
  const retry = document.createElement("button");
  retry.className = "btn";
  retry.type = "button";
  retry.textContent = "Try again";
  retry.style.marginLeft = "8px";
  retry.addEventListener("click", async () => {
    const stream = await startCamera();
    if (stream) state.call.localStreamChanged(stream);
  });
  help.append(retry);
  help.hidden = false;
  return null;
}

function stopCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
}

// -- live ---------------------------------------------------------------------------------

// The call and the device check, for the patient or for a guest (`participant`), in `seat`.
function setUp(participant, seat) {
  state.participant = participant && participant.role ? participant : { role: "patient" };
  const send = (message) => state.live && state.live.send(message);
  const guest = isGuest();
  state.call = new PatientCall({
    send,
    appointment: () => state.appointment,
    localStream: () => state.stream,
    reopenCamera: () => startCamera().then((stream) => stream && state.call.localStreamChanged(stream)),
    seat: seat || "patient",
    consent: guest ? null : new ScreenshotConsent({ send, appointment: () => state.appointment }),
    onParticipants: (participants, seat) => showOthers($("visit-others"), participants, seat),
  });
  // The waiting room's device check; a camera or microphone chosen there reaches a running
  // call. Only the patient's page tells the clinic what it found.
  state.deviceCheck = new DeviceCheck({
    reopen: () => startCamera().then((stream) => stream && state.call.localStreamChanged(stream)),
    report: (found) => !guest && state.appointment && reportDeviceCheck(send, state.appointment, found),
  });
}

function addDocument(document) {
  if (state.documentIds.has(document.id)) return;
  state.documentIds.add(document.id);
  $("no-documents").hidden = true;
  // The link goes through this page's own token, so only the patient's link can fetch it.
  const href = new URL(`api/visit/${encodeURIComponent(token)}/documents/${encodeURIComponent(document.id)}`, window.document.baseURI);
  const link = el("a", { href: href.toString(), text: document.title, download: document.filename });
  $("documents").append(el("li", { "data-document-id": document.id }, link, el("span", { class: "hint", text: ` (${document.filename})` })));
}

async function loadDocuments() {
  try {
    const answer = await api(`visit/${encodeURIComponent(token)}/documents`);
    for (const document of answer.documents) addDocument(document);
  } catch {
    // shown live as they arrive in any case
  }
}

function onMessage(message) {
  switch (message.type) {
    case FromServer.STATUS:
      setStatus(message.status, message.message, message.waiting_since);
      if (message.status === "completed") end(message.message, "completed");
      break;
    case FromServer.APPOINTMENT:
      break;
    case FromServer.SESSION_ENDED:
      end(message.message, "ended");
      break;
    case FromServer.CANCELLED:
      end(message.message, "cancelled");
      break;
    case FromServer.CHAT:
      addChat(message);
      break;
    case FromServer.DOCUMENT:
      addDocument(message.document);
      break;
    case FromServer.NOTICE:
      showNotice(message);
      break;
    case FromServer.ERROR:
      if (!state.call.handles(message)) $("call-state").textContent = message.message;
      break;
    default:
      state.call.onMessage(message);
  }
}

async function loadChat() {
  try {
    const history = await api(`visit/${encodeURIComponent(token)}/messages`);
    for (const message of history.messages) addChat(message);
  } catch {
    // The chat history is a convenience; the live chat still works.
  }
}

async function refreshStatus() {
  try {
    const answer = await api(`visit/${encodeURIComponent(token)}`);
    const status = answer.appointment.status;
    if (status === "completed") return end(statusWords("completed"), "completed");
    setStatus(status, statusWords(status), answer.appointment.waiting_since, true);
    return true;
  } catch (exc) {
    if (exc.status === 410 || exc.status === 404) end(exc.message, "cancelled");
    return false;
  }
}

(async function init() {
  showInAppNotice($("in-app-notice"));
  let answer;
  try {
    answer = await api(`visit/${encodeURIComponent(token)}`);
  } catch (exc) {
    if (exc.status === 404) return fail("This link is not valid. Please open the button in your invitation email again, or ask your practice to send a new invitation.");
    if (exc.status === 410) return fail(exc.message);
    return fail(`The waiting room could not be opened: ${exc.message}`);
  }
  const a = answer.appointment;
  state.appointment = a;
  setUp(answer.participant, answer.seat);
  if (isGuest()) guestWording(state.participant, a);
  $("visit-view").hidden = false;
  $("group-name").textContent = a.group_name;
  $("visit-group").textContent = a.group_name;
  $("visit-when").textContent = formatDateTime(a.starts_at);
  $("visit-duration").textContent = `${a.duration_minutes} minutes`;
  if (a.status === "completed") return end(statusWords("completed"), "completed");
  setStatus(a.status, CONNECTING, a.waiting_since); // a running call is joined once the socket is live
  if (!isGuest() && (a.status === "waiting" || a.status === "scheduled")) restoreNotice();
  loadChat();
  if (!isGuest()) loadDocuments();
  // The waiting room does not wait for the camera: a patient still looking at the browser's
  // permission prompt is already in the waiting room.
  startCamera().then((stream) => {
    if (stream) state.call.localStreamChanged(stream);
  });
  state.live = new ReconnectingSocket({ token }, {
    onMessage,
    onState: (liveState) => {
      if (state.ended) return;
      showBanner(liveState);
      if (liveState === "live") refreshStatus();
      // Refused twice: if the link itself still works, the cause passes (try again); if not,
      // refreshStatus has already said why.
      if (liveState === "refused") refreshStatus().then((linkWorks) => {
        if (state.ended) return;
        if (linkWorks) state.live.resume();
        else fail("The waiting room is not available for this link any more. Please contact your practice.");
      });
    },
  });
})();
