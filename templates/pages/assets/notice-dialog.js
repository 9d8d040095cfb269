// The row menu's "Send a notice" on a waiting row: a few ready-made texts and free text
// (`notice-text`, `notice-send`), sent as API.md's websocket `notice`. The dialog stays open
// until the server answers: `notice_sent` (beyond API.md) closes it, an `error` with
// `ref: "notice"` is shown in it.
import { FromServer, ToServer } from "./protocol.js";
import { toast } from "./common.js";

const $ = (id) => document.getElementById(id);
const ANSWER_TIMEOUT_MS = 10000;

export class NoticeDialog {
  constructor({ send }) {
    this.send = send;
    this.pending = null; // the appointment whose notice awaits the server's answer
    this.timer = null;
    this.for = null;
    for (const preset of document.querySelectorAll("[data-notice-preset]")) {
      preset.addEventListener("click", () => {
        $("notice-text").value = preset.textContent.trim();
        this.clearErrors();
        $("notice-send").focus();
      });
    }
    $("notice-cancel").addEventListener("click", () => $("notice-dialog").close());
    $("notice-dialog").addEventListener("close", () => this.settle());
    $("notice-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  open(appointment) {
    this.for = appointment;
    this.settle();
    $("notice-form").reset();
    this.clearErrors();
    $("notice-for").textContent = `${appointment.patient_name} sees it in the waiting room, with your name and the time.`;
    $("notice-dialog").showModal();
    $("notice-dialog").querySelector("[data-notice-preset]").focus();
  }

  clearErrors() {
    $("notice-error").hidden = true;
    $("notice-text-error").textContent = "";
    $("notice-text").removeAttribute("aria-invalid");
  }

  fieldError(message) {
    $("notice-text").setAttribute("aria-invalid", "true");
    $("notice-text-error").textContent = message;
    $("notice-text").focus();
  }

  formError(message) {
    const box = $("notice-error");
    box.textContent = message;
    box.hidden = false;
  }

  submit() {
    this.clearErrors();
    const text = $("notice-text").value.trim();
    if (!text) {
      this.fieldError("Choose a ready-made message or write one.");
      return;
    }
    this.pending = this.for.id;
    $("notice-send").disabled = true;
    this.send({ type: ToServer.NOTICE, appointment_id: this.for.id, text });
    this.timer = setTimeout(() => {
      this.settle();
      this.formError("eClinic has not answered yet. Check your connection (see the banner at the top) and send again.");
    }, ANSWER_TIMEOUT_MS);
  }

  settle() {
    clearTimeout(this.timer);
    this.pending = null;
    $("notice-send").disabled = false;
  }

  // Whether `message` answers the notice sent from this dialog (then it is dealt with here).
  handles(message) {
    const answersUs = this.pending && (message.type === FromServer.NOTICE_SENT
      ? message.appointment_id === this.pending
      : message.type === FromServer.ERROR && message.ref === ToServer.NOTICE);
    if (!answersUs) return message.type === FromServer.NOTICE_SENT;
    const name = this.for.patient_name;
    this.settle();
    if (message.type === FromServer.NOTICE_SENT) {
      $("notice-dialog").close();
      if (message.delivered > 0) toast(`Notice sent to ${name}.`);
      else toast(`The notice did not reach ${name}'s page: the patient's connection may have dropped.`, { error: true });
      return true;
    }
    if (message.field === "text") this.fieldError(message.message);
    else this.formError(message.message);
    return true;
  }
}
