// What the device check says: getUserMedia's failures as the contract's values, the words for
// each result and the guidance for each failure (device-check.js shows them).

// getUserMedia's errors (and the older names some browsers still use) as the contract's values.
const FAILURES = {
  NotFoundError: "none",
  DevicesNotFoundError: "none",
  OverconstrainedError: "none",
  ConstraintNotSatisfiedError: "none",
  NotReadableError: "in_use",
  TrackStartError: "in_use",
  AbortError: "in_use",
  NotAllowedError: "denied",
  PermissionDeniedError: "denied",
  SecurityError: "denied",
};

export function failureOf(exc) {
  return (exc && FAILURES[exc.name]) || "error";
}

export const WORDS = {
  pending: "checking…",
  ok: "working",
  none: "none found",
  in_use: "in use by another program",
  denied: "blocked by the browser",
  error: "not working",
  silent: "no sound heard yet",
};

const ALLOW = "Click the camera or lock symbol in the address bar and allow it (on a phone: in the browser's"
  + " settings for this site), then select Try again. On a computer, also check that the system's privacy"
  + " settings let the browser use it.";

export const HELP = {
  camera: {
    none: "No camera was found. If you have one, connect it or choose another one above, then select Try again. Your clinician can still hear you.",
    in_use: "Another program is using your camera (another video call, or this page open in a second tab). Close it, then select Try again.",
    denied: `Your browser has blocked the camera. ${ALLOW}`,
    error: "The camera could not be started. Reload this page; if that does not help, open the link in a current Chrome, Edge, Firefox or Safari.",
  },
  microphone: {
    none: "No microphone was found. Connect a headset or microphone, or choose another one above, then select Try again.",
    in_use: "Another program is using your microphone (another call or recording). Close it, then select Try again.",
    denied: `Your browser has blocked the microphone. ${ALLOW}`,
    error: "The microphone could not be started. Reload this page; if that does not help, open the link in a current Chrome, Edge, Firefox or Safari.",
    silent: "We have not heard anything from your microphone yet. Say something: the bar should move. If it does not, check that the microphone is not muted (a switch on the headset, or a mute key), choose another microphone above, and check your system's sound settings.",
  },
};

export const HEARD_NOTHING = "Turn the volume up (on a phone with the side buttons) and check that it is not set to silent."
  + " If you use headphones or a Bluetooth headset, check that they are connected, or unplug them to use the"
  + " speakers. Then play the sound again.";
