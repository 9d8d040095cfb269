// The websocket protocol as the pages need it: the message types they send (ToServer) and
// handle (FromServer), and the order of a call's m-lines with the direction each page offers
// on each. The pages' copy of eclinic_protocol (Python; docs/protocol.md describes each
// message), checked against it by tests/unit/test_protocol.py, which reads this file's text:
// keep each list one literal.

export const ToServer = Object.freeze({
  PING: "ping",
  TAKE: "take",
  NOTICE: "notice",
  HANGUP: "hangup",
  CALL: "call",
  OFFER: "offer",
  CANDIDATE: "candidate",
  MEDIA_STATE: "media_state",
  QUALITY: "quality",
  CHAT: "chat",
  SCREENSHOT_REQUEST: "screenshot_request",
  SCREENSHOT_CONSENT: "screenshot_consent",
  DEVICE_CHECK: "device_check",
});

export const FromServer = Object.freeze({
  PONG: "pong",
  ERROR: "error",
  APPOINTMENT: "appointment",
  CALL: "call",
  CALL_FAILED: "call_failed",
  ANSWER: "answer",
  MEDIA_STATE: "media_state",
  QUALITY: "quality",
  CHAT: "chat",
  NOTICE_SENT: "notice_sent",
  SCREENSHOT_REQUESTED: "screenshot_requested",
  SCREENSHOT_DENIED: "screenshot_denied",
  SCREENSHOT_READY: "screenshot_ready",
  SCREENSHOT_FAILED: "screenshot_failed",
  STATUS: "status",
  SESSION_ENDED: "session_ended",
  CANCELLED: "cancelled",
  NOTICE: "notice",
  DOCUMENT: "document",
  SCREENSHOT_REQUEST: "screenshot_request",
  PARTICIPANTS: "participants",
});

// The seats of a call (eclinic_protocol.mlines): the clinician's, the patient's and two guests'.
export const SEATS = Object.freeze(["clinician", "patient", "guest-1", "guest-2"]);

// The worker matches a call's m-lines by their order: microphone, camera, the clinician's
// screen share (which the clinician's page adds when sharing starts, or `inactive` while it
// needs the m-lines after it), then a pair (audio, video) per further other seat.
export const M_LINES = Object.freeze(["audio", "video", "screen"]);
export const M_LINE = Object.freeze(Object.fromEntries(M_LINES.map((slot, index) => [slot.toUpperCase(), index])));

// What each seat's page offers on the first three m-lines, in M_LINES order; every m-line after
// them is `recvonly` (or `inactive` while its seat is empty).
export const PAGE_DIRECTIONS = Object.freeze({
  clinician: Object.freeze(["sendrecv", "sendrecv", "sendonly"]),
  patient: Object.freeze(["sendrecv", "sendrecv", "recvonly"]),
  "guest-1": Object.freeze(["sendrecv", "sendrecv", "recvonly"]),
  "guest-2": Object.freeze(["sendrecv", "sendrecv", "recvonly"]),
});

// Whose media each m-line of a seat's page receives, by m-line index (null: the clinician's
// own screen share, on which nothing comes back). One literal row per seat.
export const M_LINE_SOURCES = Object.freeze({
  clinician: Object.freeze(["patient", "patient", null, "guest-1", "guest-1", "guest-2", "guest-2"]),
  patient: Object.freeze(["clinician", "clinician", "clinician", "guest-1", "guest-1", "guest-2", "guest-2"]),
  "guest-1": Object.freeze(["clinician", "clinician", "clinician", "patient", "patient", "guest-2", "guest-2"]),
  "guest-2": Object.freeze(["clinician", "clinician", "clinician", "patient", "patient", "guest-1", "guest-1"]),
});
export const MAX_M_LINES = M_LINE_SOURCES.clinician.length;

// What the m-line at `index` carries: "audio", "video" or "screen".
export function mLineSlot(index) {
  if (index < M_LINES.length) return M_LINES[index];
  return (index - M_LINES.length) % 2 === 0 ? "audio" : "video";
}

// The seat whose media the m-line at `index` of a `seat` page receives (null: nothing comes back).
export function mLineSource(seat, index) {
  const row = M_LINE_SOURCES[seat];
  return row && index >= 0 && index < row.length ? row[index] : null;
}

// The seats whose media a `seat` page receives, in the order of its m-line pairs.
export function otherSeats(seat) {
  return SEATS.filter((other) => other !== seat);
}
