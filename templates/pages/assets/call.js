// The clinician's video call: the phone (call), mute, screen sharing, screenshots with the
// patient's consent and the save dialog.
import { FromServer, ToServer } from "./protocol.js";
import { CallSide } from "./rtc.js";
import { getLocalMedia } from "./media-constraints.js";
import { toast } from "./common.js";

const $ = (id) => document.getElementById(id);
const IN_CALL_KEY = "eclinic.inCall";
const CALL_REFS = new Set([
  ToServer.CALL, ToServer.OFFER, ToServer.CANDIDATE, ToServer.MEDIA_STATE, ToServer.QUALITY, ToServer.SCREENSHOT_REQUEST,
]);

export class ClinicianCall extends CallSide {
  // `onRemove(participant, button)`: the clinician removes a guest from their tile;
  // `onParticipants(participants)`: who is in the call changed.
  constructor({ send, onRemove, onParticipants }) {
    super({
      send,
      seat: "clinician",
      canRemove: true,
      onRemove,
      onParticipants,
      other: { subject: "the patient", pronoun: "the patient's", Name: "The patient", Possessive: "The patient's" },
    });
    this.appointment = null;
    this.stream = null;
    this.screen = null;
    $("call-button").addEventListener("click", () => this.start());
    $("mute-button").addEventListener("click", () => this.toggleMute());
    $("share-screen").addEventListener("click", () => (this.screen ? this.stopSharing() : this.shareScreen()));
    $("request-screenshot").addEventListener("click", () => this.requestScreenshot());
  }

  opened(appointment) {
    this.appointment = appointment;
    this.setState("idle");
    $("stage-overlay").textContent = "Press the phone to connect with your patient.";
    $("stage-overlay").hidden = false;
    $("remote-muted").hidden = true;
    if (sessionStorage.getItem(IN_CALL_KEY) === appointment.id) this.start();
  }

  appointmentId() {
    return this.appointment && this.appointment.id;
  }

  cameraTrack() {
    return this.stream ? this.stream.getVideoTracks()[0] || null : null;
  }

  audioTrack() {
    return this.stream ? this.stream.getAudioTracks()[0] || null : null;
  }

  sharing() {
    return Boolean(this.screen);
  }

  screenTrack() {
    return this.screen;
  }

  setState(state) {
    super.setState(state);
    $("call-button").disabled = state === "connecting" || state === "connected";
  }

  async start() {
    if (!this.appointment) return;
    try {
      if (!this.stream) {
        this.stream = await getLocalMedia();
        $("local-video").srcObject = this.stream;
      }
    } catch (exc) {
      this.setState("idle");
      $("call-state").textContent = "Your camera or microphone is blocked. Allow them in the browser's address bar, then press the phone again.";
      return;
    }
    sessionStorage.setItem(IN_CALL_KEY, this.appointment.id);
    this.setState("connecting");
    this.send({ type: ToServer.CALL, appointment_id: this.appointment.id });
  }

  otherSideQuality(message) {
    // The patient's page could not connect its video at all (`connected: false`, beyond API.md).
    $("patient-connection").hidden = message.connected !== false;
  }

  async connect(iceServers, iceTransportPolicy) {
    if (!this.stream) return;
    $("patient-connection").hidden = true;
    // Audio and camera both ways; the screen share's m-line when sharing starts (or `inactive`
    // before the guests' pairs), a pair per guest present (call-layout.js).
    const link = this.newLink({
      appointmentId: this.appointment.id,
      iceServers,
      iceTransportPolicy,
      send: this.send,
      onState: (state) => {
        this.setState(state);
        if (state === "failed") setTimeout(() => this.state === "failed" && this.appointment && this.start(), 3000);
      },
    });
    await link.offer();
    this.sendMediaState();
  }

  toggleMute() {
    this.setMuted(this.stream, !this.muted);
    this.sendMediaState();
  }

  mediaState() {
    return { ...super.mediaState(), screen: Boolean(this.screen) };
  }

  async shareScreen() {
    if (!this.link) return toast("Connect the call first, then share your screen.", { error: true });
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      [this.screen] = display.getVideoTracks();
    } catch {
      return toast("Screen sharing was cancelled or is not allowed in this browser.", { error: true });
    }
    this.screen.addEventListener("ended", () => this.stopSharing());
    $("share-screen").textContent = "Stop sharing";
    await this.relayout({ force: true });
    this.sendMediaState();
    toast("You are sharing your screen with the patient.");
  }

  async stopSharing() {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    $("share-screen").textContent = "Share screen";
    await this.relayout({ force: true });
    this.sendMediaState();
  }

  requestScreenshot() {
    if (!this.appointment) return;
    $("screenshot-denied-message").hidden = true;
    this.send({ type: ToServer.SCREENSHOT_REQUEST, appointment_id: this.appointment.id });
  }

  handles(message) {
    if (!CALL_REFS.has(message.ref)) return false;
    $("call-state").textContent = message.message;
    if (message.ref === ToServer.CALL) this.setState("idle");
    return true;
  }

  onMessage(message) {
    if (this.handleCommon(message)) return;
    switch (message.type) {
      case FromServer.SCREENSHOT_REQUESTED:
        $("screenshot-status").textContent = "Waiting for the patient to allow the screenshot…";
        break;
      case FromServer.SCREENSHOT_DENIED:
        $("screenshot-status").textContent = "";
        $("screenshot-denied-message").hidden = false;
        break;
      case FromServer.SCREENSHOT_FAILED:
        $("screenshot-status").textContent = message.message;
        break;
      case FromServer.SCREENSHOT_READY:
        this.offerSave(message.screenshot);
        break;
      default:
    }
  }

  offerSave(shot) {
    $("screenshot-status").textContent = "";
    const panel = $("screenshot-ready");
    $("screenshot-preview").src = shot.url;
    $("screenshot-preview").alt = `Screenshot taken ${new Date().toLocaleTimeString()} (${shot.width} × ${shot.height})`;
    panel.hidden = false;
    panel.dataset.screenshotId = shot.id;
    const save = $("save-screenshot");
    save.onclick = () => saveFile(shot.url, shot.filename);
    save.focus();
  }

  stop() {
    this.closeLink();
    if (this.screen) this.screen.stop();
    this.screen = null;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    sessionStorage.removeItem(IN_CALL_KEY);
    this.tiles.reset();
    this.participants = [];
    $("remote-video").srcObject = null;
    $("local-video").srcObject = null;
    $("screenshot-ready").hidden = true;
    this.setState("idle");
  }
}

// The save dialog: the File System Access API's picker where the browser has it, a download otherwise.
async function saveFile(url, filename) {
  const blob = await (await fetch(url)).blob();
  if (window.showSaveFilePicker) {
    try {
      const handle = await window.showSaveFilePicker({
        suggestedName: filename,
        types: [{ description: "JPEG image", accept: { "image/jpeg": [".jpg", ".jpeg"] } }],
      });
      const writable = await handle.createWritable();
      await writable.write(blob);
      await writable.close();
      toast(`Screenshot saved as ${handle.name}.`);
      return;
    } catch (exc) {
      if (exc && exc.name === "AbortError") return;
    }
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
