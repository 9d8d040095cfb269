// What only the patient's own link does on the visit page, never a guest's (GUEST_SENDS has
// neither): answer the clinician's screenshot request, and tell the clinic what the device
// check found. visit.js wires these for the patient only; tests/unit/test_protocol.py leaves
// this module out of the guest's page.
import { ToServer } from "./protocol.js";

const $ = (id) => document.getElementById(id);

export class ScreenshotConsent {
  constructor({ send, appointment }) {
    this.send = send;
    this.appointment = appointment;
    this.requestId = null;
    $("screenshot-consent-allow").addEventListener("click", () => this.answer(true));
    $("screenshot-consent-deny").addEventListener("click", () => this.answer(false));
  }

  requested(message) {
    this.requestId = message.request_id;
    $("consent").hidden = false;
    $("screenshot-consent-allow").focus();
  }

  answer(granted) {
    if (!this.requestId) return;
    this.send({ type: ToServer.SCREENSHOT_CONSENT, appointment_id: this.appointment().id, request_id: this.requestId, granted });
    this.requestId = null;
    $("consent").hidden = true;
    $("call-state").textContent = granted
      ? "You allowed one screenshot. Hold still for a moment."
      : "You declined the screenshot. Nothing was taken.";
  }

  // An error about the consent: said under the video.
  handles(message) {
    if (message.ref !== ToServer.SCREENSHOT_CONSENT) return false;
    $("call-state").textContent = message.message;
    return true;
  }

  hide() {
    $("consent").hidden = true;
  }
}

// What the waiting room's device check found, for the clinic.
export function reportDeviceCheck(send, appointment, found) {
  send({ type: ToServer.DEVICE_CHECK, appointment_id: appointment.id, ...found });
}
