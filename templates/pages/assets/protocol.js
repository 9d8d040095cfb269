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
});

// The worker matches a call's m-lines by this order: microphone, camera, the clinician's
// screen share (which the clinician's page adds when sharing starts).
export const M_LINES = Object.freeze(["audio", "video", "screen"]);
export const M_LINE = Object.freeze(Object.fromEntries(M_LINES.map((slot, index) => [slot.toUpperCase(), index])));

// What each side's page offers on each m-line, in M_LINES order.
export const PAGE_DIRECTIONS = Object.freeze({
  patient: Object.freeze(["sendrecv", "sendrecv", "recvonly"]),
  clinician: Object.freeze(["sendrecv", "sendrecv", "sendonly"]),
});
