// Who is in a visit, in words: a participant's role ("Interpreter", "Family member",
// "Colleague", "Patient", "Clinician"), which entry of a `participants` message is this page's
// own, and the guests of an appointment for the schedule's row. Pure: no DOM, no state.
import { otherSeats } from "./protocol.js";

const ROLE_WORDS = Object.freeze({
  interpreter: "Interpreter",
  family: "Family member",
  colleague: "Colleague",
  patient: "Patient",
  clinician: "Clinician",
  guest: "Guest",
});

// As the end of "You are joining as …".
const JOINING_AS = Object.freeze({ interpreter: "interpreter", family: "a family member", colleague: "a colleague" });

export const GUEST_ROLES = Object.freeze(["interpreter", "family", "colleague"]);

// "Interpreter" for a guest who interprets, "Patient" for the patient.
export function roleWords(participant) {
  const role = participant.role === "guest" ? participant.guest_role || "guest" : participant.role;
  return ROLE_WORDS[role] || ROLE_WORDS.guest;
}

export function joiningWords(guestRole, groupName) {
  return `You are joining as ${JOINING_AS[guestRole] || "a guest"} for an appointment with ${groupName}`;
}

// The seat whose video is the page's `remote-video`: the patient's for the clinician, the
// clinician's for the patient and the guests.
export function primarySeat(seat) {
  return otherSeats(seat)[0];
}

// The other participants present, in SEATS order (as the message lists them).
export function othersPresent(participants, seat) {
  return (participants || []).filter((p) => p.seat && p.seat !== seat);
}

// "Ana (interpreter)", for the "Also in this visit" line and the information panel.
export function nameAndRole(participant) {
  return `${participant.name} (${roleWords(participant).toLowerCase()})`;
}

// The schedule row's badge of a guest of the REST Appointment (`guests`, absent = none).
export function guestBadge(guest) {
  const online = guest.status === "online";
  const role = (ROLE_WORDS[guest.role] || ROLE_WORDS.guest).toLowerCase();
  return {
    text: `Guest: ${role} (${online ? "online" : "invited"})`,
    label: `Guest ${guest.name}, ${role}, ${online ? "online now" : "invited, not joined yet"}`,
    online,
  };
}

export function scheduleGuests(appointment) {
  const guests = Array.isArray(appointment.guests) ? appointment.guests : [];
  return guests.filter((g) => g && g.status !== "removed");
}
