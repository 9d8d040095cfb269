// What an appointment's status is called on each page: the clinician's words (the schedule's
// legend, the rows, the row menu's refusals) and the patient's (the waiting room's status line).
// Both come from the page's config block: the clinician's and CONNECTING from
// pages/_status_words.html (which renders the legend and the waiting room's first line too), the
// patient's others from the server's own (chalicelib.realtime.updates.PATIENT_WORDS).
import { CONFIG } from "./page-config.js";

const CLINIC = CONFIG.clinic_status_words || {};
const PATIENT = CONFIG.patient_status_words || {};

// The waiting room's words while the page is still on its way in (the server's "scheduled"
// words are for a push to a page that is not in the waiting room).
export const CONNECTING = CONFIG.connecting_words;

export function clinicStatusWords(status) {
  return CLINIC[status];
}

export function patientStatusWords(status) {
  return status === "scheduled" ? CONNECTING : PATIENT[status];
}
