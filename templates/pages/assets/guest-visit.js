// The visit page in a guest's words ("You are joining as interpreter for an appointment with
// Cardiology"), without what is the patient's alone (the screenshot consent, the documents,
// the clinic's notices), and the line that tells everyone on the page who else is in the
// visit ("Also in this visit: Ana (interpreter)"), so that the patient always knows who watches.
import { joiningWords, nameAndRole, othersPresent } from "./participants.js";
import { CONFIG } from "./page-config.js";

const $ = (id) => document.getElementById(id);

// The server's own words for a guest (chalicelib.domain.patient_wording.GUEST_WORDS), which its
// `status` pushes to a guest's page carry too.
const GUEST_STATUS_WORDS = CONFIG.guest_status_words || {};

export function guestStatusWords(status) {
  return GUEST_STATUS_WORDS[status] || GUEST_STATUS_WORDS.scheduled;
}

export function guestWording(participant, appointment) {
  const joining = joiningWords(participant.guest_role, appointment.group_name);
  $("visit-title").textContent = joining;
  document.title = `${joining} · eClinic`;
  $("consent").remove(); // a guest is never asked for a screenshot
  $("documents-section").hidden = true;
  $("device-check-hint").textContent = "While you wait, check that the others will see and hear you. Nothing about your camera or microphone is sent to the clinic.";
  $("chat-hint").textContent = "You can chat with everyone in the visit once the session has started.";
  $("chat-input-label").textContent = "Message to everyone in the visit";
  $("stage-overlay").textContent = "The video of the others appears here when the session starts.";
}

// Everyone else present but the clinician (whom the page names already), with their role.
export function showOthers(line, participants, seat) {
  const others = othersPresent(participants, seat).filter((p) => p.role !== "clinician");
  line.hidden = others.length === 0;
  line.textContent = others.length ? `Also in this visit: ${others.map(nameAndRole).join(", ")}` : "";
}
