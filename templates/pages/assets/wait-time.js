// How long a patient has waited, from the appointment's `waiting_since` (UTC), in words. Shared
// by the schedule's rows (`wait-time`) and the waiting room. A clock that runs behind the
// server's never shows a negative wait.
export const LONG_WAIT_MINUTES = 10;

export function waitedMinutes(since, now = Date.now()) {
  const start = Date.parse(since);
  if (Number.isNaN(start)) return null;
  return Math.max(0, Math.floor((now - start) / 60000));
}

function duration(minutes, { short }) {
  const unit = short ? "min" : minutes === 1 ? "minute" : "minutes";
  if (minutes < 60) return `${minutes} ${unit}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const hourWords = short ? `${hours} h` : `${hours} ${hours === 1 ? "hour" : "hours"}`;
  return rest ? `${hourWords} ${rest} ${short ? "min" : rest === 1 ? "minute" : "minutes"}` : hourWords;
}

// For a schedule row: "Waiting 4 min", and past ten minutes "Waiting 12 min · long wait" (the
// words, not only the colour, say that the wait is long).
export function rowWaitWords(since, now = Date.now()) {
  const minutes = waitedMinutes(since, now);
  if (minutes === null) return null;
  const long = minutes >= LONG_WAIT_MINUTES;
  const text = minutes < 1 ? "Waiting less than 1 min" : `Waiting ${duration(minutes, { short: true })}`;
  return { text: long ? `${text} · long wait` : text, long, minutes };
}

// For the patient: "You have been waiting 4 minutes."
export function patientWaitWords(since, now = Date.now()) {
  const minutes = waitedMinutes(since, now);
  if (minutes === null) return null;
  return minutes < 1 ? "You have been waiting less than a minute." : `You have been waiting ${duration(minutes, { short: false })}.`;
}
