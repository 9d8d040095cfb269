// The invite form, which serves "Reschedule" too: the appointment's time and duration filled in,
// the patient's details shown but not editable; it sends POST .../reschedule.
import { api, el, formatDay, formatTime, toast } from "./common.js";
import { $, state } from "./schedule-state.js";
import { clearErrors, resetForm, showError } from "./forms.js";
import { expired } from "./schedule-app.js";
import { upsert } from "./schedule-live.js";

function pad(n) {
  return String(n).padStart(2, "0");
}

// An input's datetime-local value for a date, in the browser's time zone.
function datetimeLocal(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function nextQuarterHour() {
  const date = new Date(Date.now() + 15 * 60 * 1000);
  date.setMinutes(Math.ceil(date.getMinutes() / 15) * 15, 0, 0);
  return datetimeLocal(date);
}

$("invite-button").addEventListener("click", () => {
  resetForm("invite-form");
  inviteMode(null);
  $("invite-starts-at").value = nextQuarterHour();
  const groups = $("invite-group");
  groups.replaceChildren(...state.user.groups.map((g) => el("option", { value: g.id, text: g.name })));
  $("invite-dialog").showModal();
  $("invite-starts-at").focus();
});
$("invite-cancel").addEventListener("click", () => $("invite-dialog").close());

$("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const local = $("invite-starts-at").value;
  const startsAt = local && !Number.isNaN(new Date(local).getTime()) ? new Date(local).toISOString() : local;
  if (state.rescheduling) {
    await reschedule(form, state.rescheduling, startsAt);
    return;
  }
  const body = {
    starts_at: startsAt,
    duration_minutes: Number($("invite-duration").value),
    patient_name: $("invite-patient-name").value,
    patient_email: $("invite-patient-email").value.trim(),
    group: $("invite-group").value,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
  const phone = $("invite-patient-phone").value.trim();
  if (phone) body.patient_phone = phone;
  $("invite-send").disabled = true;
  try {
    const created = await api("appointments", { method: "POST", body, token: state.token });
    upsert(created);
    $("invite-dialog").close();
    toast(created.invite.status === "sent"
      ? `Invitation sent to ${created.patient_email}.`
      : `The appointment is saved, but the invitation to ${created.patient_email} could not be delivered. Use Reinvite user to try again.`,
    { error: created.invite.status !== "sent" });
  } catch (exc) {
    if (exc.status === 401) { $("invite-dialog").close(); return expired(); }
    showError(form, exc, {
      starts_at: "invite-starts-at", duration_minutes: "invite-duration", patient_name: "invite-patient-name",
      patient_email: "invite-patient-email", group: "invite-group", timezone: "invite-starts-at",
      patient_phone: "invite-patient-phone",
    });
  } finally {
    $("invite-send").disabled = false;
  }
});

function inviteMode(a) {
  state.rescheduling = a;
  const moving = Boolean(a);
  $("invite-title").textContent = moving ? "Reschedule appointment" : "Invite for session";
  $("invite-send").textContent = moving ? "Move and tell the patient" : "Send";
  for (const id of ["invite-patient-name", "invite-patient-email", "invite-patient-phone", "invite-group"]) {
    $(id).closest(".form-row").hidden = moving;
  }
  for (const extra of $("invite-duration").querySelectorAll("[data-extra]")) extra.remove();
  const summary = $("reschedule-for");
  summary.hidden = !moving;
  summary.textContent = moving
    ? `${a.patient_name} (${a.patient_email}) gets the invitation again with the new time and the same link. The mail shows the time in ${a.timezone}.`
    : "";
}

export function openReschedule(a) {
  resetForm("invite-form");
  inviteMode(a);
  $("invite-starts-at").value = datetimeLocal(new Date(a.starts_at));
  const duration = $("invite-duration");
  if (![...duration.options].some((option) => Number(option.value) === a.duration_minutes)) {
    duration.append(el("option", { value: a.duration_minutes, text: `${a.duration_minutes} minutes`, "data-extra": true }));
  }
  duration.value = String(a.duration_minutes);
  $("invite-dialog").showModal();
  $("invite-starts-at").focus();
}

async function reschedule(form, a, startsAt) {
  const body = { starts_at: startsAt, duration_minutes: Number($("invite-duration").value), timezone: a.timezone };
  $("invite-send").disabled = true;
  try {
    const moved = await api(`appointments/${a.id}/reschedule`, { method: "POST", body, token: state.token });
    upsert(moved);
    $("invite-dialog").close();
    const same = moved.starts_at === a.starts_at && moved.duration_minutes === a.duration_minutes;
    toast(same
      ? `The time of the appointment with ${a.patient_name} has not changed; nothing was sent.`
      : `Appointment with ${a.patient_name} moved to ${formatDay(moved.starts_at)}, ${formatTime(moved.starts_at)}. The patient has been sent the new time.`);
  } catch (exc) {
    if (exc.status === 401) { $("invite-dialog").close(); return expired(); }
    showError(form, exc, { starts_at: "invite-starts-at", duration_minutes: "invite-duration", timezone: "invite-starts-at" });
  } finally {
    $("invite-send").disabled = false;
  }
}
