// The clinician's guests of the open session: the "Add guest" form (POST
// /api/appointments/{id}/guests, the server's errors at their field; opened from the session, or
// from a row's menu for an appointment not yet in session), the appointment's guests
// (GET .../guests: the invited ones not yet joined too) and removing one (DELETE
// .../guests/{guest_id}: from their tile or from the information panel's list).
import { api, toast } from "./common.js";
import { clearErrors, resetForm, showError } from "./forms.js";
import { roleWords } from "./participants.js";

const $ = (id) => document.getElementById(id);
const FIELDS = { name: "guest-name", email: "guest-email", phone: "guest-phone", role: "guest-role", contact: "guest-email" };

export class GuestInvites {
  // `appointment()`: the session's; `token()`: the clinician's bearer token; `onChange(guests)`
  // after the list changed.
  constructor({ appointment, token, onChange }) {
    this.appointment = appointment;
    this.token = token;
    this.onChange = onChange;
    this.guests = [];
    this.loads = 0;
    $("add-guest-button").addEventListener("click", () => this.open());
    $("guest-cancel").addEventListener("click", () => $("guest-dialog").close());
    $("guest-form").addEventListener("submit", (event) => this.send(event));
  }

  path(suffix = "", appointment = this.appointment()) {
    return `appointments/${encodeURIComponent(appointment.id)}/guests${suffix}`;
  }

  // `target`: the appointment the guest is for (the open session's by default).
  open(target = this.appointment()) {
    if (!target) return;
    this.target = target;
    $("guest-title").textContent = target === this.appointment()
      ? "Add a guest to this visit"
      : `Add a guest to the visit with ${target.patient_name}`;
    resetForm("guest-form");
    $("guest-dialog").showModal();
    $("guest-name").focus();
  }

  async send(event) {
    event.preventDefault();
    const form = $("guest-form");
    clearErrors(form);
    const body = { name: $("guest-name").value.trim(), role: $("guest-role").value };
    const email = $("guest-email").value.trim();
    const phone = $("guest-phone").value.trim();
    if (email) body.email = email;
    if (phone) body.phone = phone;
    if (!email && !phone) {
      showError(form, { field: "email", message: "Give an email address or a mobile number for the invitation." }, FIELDS);
      return;
    }
    $("guest-send").disabled = true;
    try {
      const target = this.target;
      const guest = await api(this.path("", target), { method: "POST", token: this.token(), body });
      $("guest-dialog").close();
      toast(`Invitation sent to ${guest.name} (${roleWords({ role: "guest", guest_role: guest.role }).toLowerCase()}) by ${[email && "email", phone && "text message"].filter(Boolean).join(" and ")}.`);
      if (target !== this.appointment()) return; // the row follows the appointment's push
      this.merge(guest);
      this.load();
    } catch (exc) {
      showError(form, exc, FIELDS);
    } finally {
      $("guest-send").disabled = false;
    }
  }

  // The appointment's guests, not the removed ones.
  async load() {
    const appointment = this.appointment();
    if (!appointment) return;
    const load = ++this.loads;
    try {
      const answer = await api(this.path(), { token: this.token() });
      if (load !== this.loads || this.appointment() !== appointment) return;
      this.guests = (answer.guests || []).filter((g) => g.status !== "removed");
      this.onChange(this.guests);
    } catch {
      // the list shows what the session's pushes and this page's own changes said
    }
  }

  // The REST Appointment's `guests` (pushed with every change of the appointment).
  fromAppointment(guests) {
    this.guests = guests.filter((g) => g && g.status !== "removed");
    this.onChange(this.guests);
  }

  merge(guest) {
    this.guests = [...this.guests.filter((g) => g.id !== guest.id), guest].filter((g) => g.status !== "removed");
    this.onChange(this.guests);
  }

  // `guest`: `{id, name}` (a guest's entry of `participants` or of the list).
  async remove(guest, button) {
    if (!this.appointment() || !guest || !guest.id) return;
    if (button) button.disabled = true;
    try {
      const removed = await api(this.path(`/${encodeURIComponent(guest.id)}`), { method: "DELETE", token: this.token() });
      this.merge({ ...guest, ...removed, status: "removed" });
      toast(`${guest.name} was removed from the visit. Their link no longer works.`);
    } catch (exc) {
      if (button) button.disabled = false;
      toast(exc.message, { error: true });
    }
  }

  clear() {
    this.loads += 1;
    this.guests = [];
    if ($("guest-dialog").open) $("guest-dialog").close();
  }
}
