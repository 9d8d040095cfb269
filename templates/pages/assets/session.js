// The clinician's session view: information panel with participants (present and invited),
// scheduled time and chat; hang-up with "Exit without ending" and "Leave session"; the guests
// (guest-form.js). The video call lives in call.js and is driven from here.
import { FromServer, ToServer } from "./protocol.js";
import { api, el, formatDateTime, toast } from "./common.js";
import { ClinicianCall } from "./call.js";
import { ChatLog, wireChatForm } from "./chat.js";
import { DOCUMENT_MAX_BYTES, DOCUMENT_MAX_MB } from "./limits.js";
import { menuKeyboard } from "./menu.js";
import { GuestInvites } from "./guest-form.js";
import { roleWords } from "./participants.js";

const ACTIVE_KEY = "eclinic.activeSession";
const $ = (id) => document.getElementById(id);

export class ClinicianSession {
  constructor({ send, token, me, onClose }) {
    this.send = send;
    this.token = token;
    this.me = me;
    this.onClose = onClose;
    this.appointment = null;
    this.chat = new ChatLog($("chat-log"));
    this.guests = new GuestInvites({
      appointment: () => this.appointment,
      token,
      onChange: () => this.showParticipants(),
    });
    this.call = new ClinicianCall({
      send,
      onRemove: (participant, button) => this.guests.remove(participant, button),
      onParticipants: (participants) => {
        this.showParticipants();
        // who of the invited has joined (not on every mute: only when the guests present change)
        const present = participants.filter((p) => p.role === "guest").map((p) => p.id).join(" ");
        if (present !== this.presentGuests) this.guests.load();
        this.presentGuests = present;
      },
    });
    this.wire();
  }

  wire() {
    $("info-button").addEventListener("click", () => {
      const panel = $("info-panel");
      panel.hidden = !panel.hidden;
      $("info-button").setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) $("chat-input").focus();
    });
    this.popover("hangup-button", "hangup-menu");
    this.popover("screen-options", "screen-menu");
    $("hangup-exit").addEventListener("click", () => this.hangup("exit"));
    $("hangup-leave").addEventListener("click", () => this.hangup("leave"));
    $("send-info").addEventListener("click", () => this.openInfoDialog());
    $("info-cancel").addEventListener("click", () => $("info-dialog").close());
    $("info-form").addEventListener("submit", (event) => this.sendInfo(event));
    wireChatForm($("chat-form"), $("chat-input"), (text) => {
      if (!this.appointment) return false;
      this.send({ type: ToServer.CHAT, appointment_id: this.appointment.id, text });
      return true;
    });
  }

  popover(buttonId, menuId) {
    const button = $(buttonId);
    const menu = $(menuId);
    const close = (focus) => {
      menu.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (focus) button.focus();
    };
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      const opening = menu.hidden;
      for (const other of document.querySelectorAll(".popover")) other.hidden = true;
      menu.hidden = !opening;
      button.setAttribute("aria-expanded", String(opening));
      if (opening) menu.querySelector("button").focus();
    });
    menuKeyboard(menu, { items: () => [...menu.querySelectorAll("button")], close });
    menu.addEventListener("click", () => close(false));
    document.addEventListener("click", (event) => {
      if (!menu.hidden && !menu.contains(event.target) && event.target !== button) close(false);
    });
  }

  openInfoDialog() {
    if (!this.appointment) return;
    const form = $("info-form");
    form.reset();
    $("info-error").hidden = true;
    $("info-dialog").showModal();
    $("info-title-input").focus();
  }

  async sendInfo(event) {
    event.preventDefault();
    const error = $("info-error");
    error.hidden = true;
    const title = $("info-title-input").value;
    const file = $("info-file").files[0];
    let body;
    if (file) {
      if (file.size > DOCUMENT_MAX_BYTES) {
        error.textContent = `The file is larger than ${DOCUMENT_MAX_MB} MB. Choose a smaller file.`;
        error.hidden = false;
        return;
      }
      const buffer = new Uint8Array(await file.arrayBuffer());
      let binary = "";
      for (let i = 0; i < buffer.length; i += 0x8000) binary += String.fromCharCode(...buffer.subarray(i, i + 0x8000));
      body = { title, filename: file.name, content_type: file.type || "application/octet-stream", content_base64: btoa(binary) };
    } else {
      body = { title, text: $("info-text").value };
    }
    $("info-send").disabled = true;
    try {
      const sent = await api(`appointments/${this.appointment.id}/documents`, { method: "POST", token: this.token(), body });
      $("info-dialog").close();
      toast(`"${sent.title}" sent to the patient.`);
    } catch (exc) {
      error.textContent = exc.message;
      error.hidden = false;
    } finally {
      $("info-send").disabled = false;
    }
  }

  resumable() {
    return sessionStorage.getItem(ACTIVE_KEY);
  }

  async open(appointment) {
    this.appointment = appointment;
    sessionStorage.setItem(ACTIVE_KEY, appointment.id);
    $("session-title").textContent = `Session with ${appointment.patient_name}`;
    this.guests.clear();
    this.presentGuests = "";
    this.showParticipants();
    this.guests.load();
    $("scheduled-time").textContent = `${formatDateTime(appointment.starts_at)} · ${appointment.duration_minutes} minutes`;
    this.chat.clear();
    $("screenshot-denied-message").hidden = true;
    $("hangup-button").focus();
    this.call.opened(appointment);
    try {
      const history = await api(`appointments/${appointment.id}/messages`, { token: this.token() });
      for (const message of history.messages) this.addChat(message);
    } catch (exc) {
      toast(`The chat history could not be loaded: ${exc.message}`, { error: true });
    }
  }

  // Everyone: the clinician, the patient, every guest present or invited (one not yet joined
  // can be removed here; one present from their tile).
  showParticipants() {
    if (!this.appointment) return;
    const present = this.call.participants.filter((p) => p.seat && p.seat !== "clinician");
    const patientHere = present.some((p) => p.role === "patient");
    const rows = [
      el("li", { text: `${this.me().name} (you)` }),
      el("li", { text: `${this.appointment.patient_name} (patient${patientHere ? ", in the visit" : ""})` }),
    ];
    const guests = new Map(this.guests.guests.map((g) => [g.id, { ...g, guest_role: g.role, role: "guest", here: false }]));
    for (const p of present) if (p.role === "guest") guests.set(p.id, { ...guests.get(p.id), ...p, here: true });
    for (const guest of guests.values()) {
      const role = roleWords(guest).toLowerCase();
      const row = el("li", { testid: "guest-entry", "data-guest-id": guest.id, "data-here": String(guest.here) },
        `${guest.name} (${role}, ${guest.here ? "in the visit" : "invited, not joined yet"})`);
      if (!guest.here) {
        const remove = el("button", {
          class: "btn btn-small", type: "button", testid: "remove-invited-guest", text: "Remove",
          "aria-label": `Remove ${guest.name} (${role}): their link stops working`,
        });
        remove.addEventListener("click", () => this.guests.remove(guest, remove));
        row.append(" ", remove);
      }
      rows.push(row);
    }
    $("participants").replaceChildren(el("ul", { class: "participant-list" }, ...rows));
  }

  close(words) {
    const wasOpen = Boolean(this.appointment);
    this.guests.clear();
    this.call.stop();
    this.appointment = null;
    sessionStorage.removeItem(ACTIVE_KEY);
    for (const menu of document.querySelectorAll(".popover")) menu.hidden = true;
    if (wasOpen) this.onClose(words);
  }

  hangup(mode) {
    if (!this.appointment) return;
    this.send({ type: ToServer.HANGUP, appointment_id: this.appointment.id, mode });
    const name = this.appointment.patient_name;
    this.close(mode === "exit"
      ? `You left the session without ending it. ${name} is still in the waiting room.`
      : `Session with ${name} ended. The patient has been told.`);
  }

  appointmentChanged(appointment) {
    if (!this.appointment || appointment.id !== this.appointment.id) return;
    this.appointment = appointment;
    if (Array.isArray(appointment.guests)) this.guests.fromAppointment(appointment.guests);
    if (appointment.status !== "in_session" || appointment.taken_by !== this.me().email) {
      const words = {
        completed: "The appointment was marked as complete.",
        cancelled: "The appointment was cancelled.",
        waiting: "The session was released.",
        scheduled: "The patient has left.",
      }[appointment.status] || "The session has ended.";
      this.close(words);
    }
  }

  addChat(message) {
    this.chat.add(message);
  }

  handles(message) {
    return this.call.handles(message);
  }

  onMessage(message) {
    if (!this.appointment || message.appointment_id && message.appointment_id !== this.appointment.id) {
      if (message.type !== FromServer.CHAT) return;
    }
    if (message.type === FromServer.CHAT) {
      if (this.appointment && message.appointment_id === this.appointment.id) this.addChat(message);
      return;
    }
    this.call.onMessage(message);
  }
}
