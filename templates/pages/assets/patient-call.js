// The patient's side of the video call: connect when the clinician calls, show their video
// (and their screen when shared), mute, and answer screenshot requests.
import { CallSide, PeerLink } from "./rtc.js";

const $ = (id) => document.getElementById(id);
// ICE found no way through: most often a hospital or office network that blocks video calls.
const NO_ROUTE = "We could not connect the video: your network may block video calls (hospital and office"
  + " networks often do). Switch to mobile data or another Wi-Fi, then reload this page. Your clinician"
  + " has been told and can call you by phone instead.";

export class PatientCall extends CallSide {
  constructor({ send, appointment, localStream }) {
    super({ send });
    this.appointment = appointment;
    this.localStream = localStream;
    this.cameraOff = false;
    this.requestId = null;
    $("mute-button").addEventListener("click", () => this.toggleMute());
    $("camera-button").addEventListener("click", () => this.toggleCamera());
    $("screenshot-consent-allow").addEventListener("click", () => this.consent(true));
    $("screenshot-consent-deny").addEventListener("click", () => this.consent(false));
  }

  async connect(iceServers, iceTransportPolicy) {
    const stream = this.localStream();
    if (this.link) this.link.close();
    const remote = new MediaStream();
    $("remote-video").srcObject = remote;
    const [audio] = stream ? stream.getAudioTracks() : [];
    const [video] = stream ? stream.getVideoTracks() : [];
    this.setState("connecting");
    this.link = new PeerLink({
      appointmentId: this.appointment().id,
      iceServers,
      iceTransportPolicy,
      send: this.send,
      // audio and camera both ways; the clinician's screen share arrives on the third
      transceivers: [[audio || "audio", "sendrecv"], [video || "video", "sendrecv"], ["video", "recvonly"]],
      onTrack: (event, index) => {
        if (index === 2) {
          $("screen-video").srcObject = new MediaStream([event.track]);
          return;
        }
        remote.addTrack(event.track);
        $("stage-overlay").hidden = true;
      },
      onState: (state) => {
        this.setState(state);
        if (state === "failed") $("call-state").textContent = NO_ROUTE;
        if (state === "failed" || state === "connected") {
          // Beyond API.md: `connected: false` tells the clinician the video could not connect at all.
          this.send({ type: "quality", appointment_id: this.appointment().id, level: state === "failed" ? "poor" : "good", connected: state === "connected" });
        }
      },
    });
    await this.link.offer();
    this.sendMediaState();
  }

  localStreamChanged() {
    if (this.link) this.send({ type: "call", appointment_id: this.appointment().id });
  }

  statusChanged(status) {
    if (status === "in_session" && !this.link) {
      // Rejoin a running call after a reload; the server answers with `call` if one runs.
      this.send({ type: "call", appointment_id: this.appointment().id });
    }
    if (status !== "in_session") this.stop();
  }

  toggleMute() {
    this.setMuted(this.localStream(), !this.muted);
    this.sendMediaState();
  }

  toggleCamera() {
    this.cameraOff = !this.cameraOff;
    const stream = this.localStream();
    if (stream) for (const track of stream.getVideoTracks()) track.enabled = !this.cameraOff;
    const button = $("camera-button");
    button.setAttribute("aria-pressed", String(this.cameraOff));
    button.textContent = this.cameraOff ? "Camera on" : "Camera off";
    this.sendMediaState();
  }

  sendMediaState() {
    if (!this.link) return;
    this.send({ type: "media_state", appointment_id: this.appointment().id, audio: !this.muted, video: !this.cameraOff });
  }

  consent(granted) {
    if (!this.requestId) return;
    this.send({ type: "screenshot_consent", appointment_id: this.appointment().id, request_id: this.requestId, granted });
    this.requestId = null;
    $("consent").hidden = true;
    $("call-state").textContent = granted
      ? "You allowed one screenshot. Hold still for a moment."
      : "You declined the screenshot. Nothing was taken.";
  }

  handles(message) {
    if (message.ref === "screenshot_consent" || message.ref === "offer" || message.ref === "call") {
      if (message.ref !== "call") $("call-state").textContent = message.message;
      return true;
    }
    return false;
  }

  otherSideChanged(message) {
    if ("screen" in message) $("screen-video").hidden = !message.screen;
  }

  onMessage(message) {
    if (this.handleCommon(message)) return;
    if (message.type === "screenshot_request") {
      this.requestId = message.request_id;
      $("consent").hidden = false;
      $("screenshot-consent-allow").focus();
    }
  }

  stop() {
    if (this.link) this.link.close();
    this.link = null;
    $("remote-video").srcObject = null;
    $("screen-video").srcObject = null;
    $("screen-video").hidden = true;
    $("consent").hidden = true;
    $("stage-overlay").hidden = false;
    this.setState("idle");
  }
}
