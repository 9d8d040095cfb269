// The patient's side of the video call: connect when the clinician calls, show their video
// (and their screen when shared), mute, camera off, answer screenshot requests, and pause the
// camera while the page is in the background (as phones do), recovering when it comes back.
import { FromServer, M_LINE, PAGE_DIRECTIONS, ToServer } from "./protocol.js";
import { CallSide, PeerLink, playRemote } from "./rtc.js";

const $ = (id) => document.getElementById(id);
const DIRECTIONS = PAGE_DIRECTIONS.patient;
// ICE found no way through: most often a hospital or office network that blocks video calls.
const NO_ROUTE = "We could not connect the video: your network may block video calls (hospital and office"
  + " networks often do). Switch to mobile data or another Wi-Fi, then reload this page. Your clinician"
  + " has been told and can call you by phone instead.";

export class PatientCall extends CallSide {
  constructor({ send, appointment, localStream, reopenCamera }) {
    super({
      send,
      other: { subject: "your clinician", pronoun: "your clinician's", Name: "Your clinician", Possessive: "Your clinician's" },
    });
    this.appointment = appointment;
    this.localStream = localStream;
    this.reopenCamera = reopenCamera;
    this.requestId = null;
    document.addEventListener("visibilitychange", () => this.visibilityChanged(document.visibilityState === "hidden"));
    $("mute-button").addEventListener("click", () => this.toggleMute());
    $("camera-button").addEventListener("click", () => this.toggleCamera());
    $("screenshot-consent-allow").addEventListener("click", () => this.consent(true));
    $("screenshot-consent-deny").addEventListener("click", () => this.consent(false));
  }

  appointmentId() {
    return this.appointment().id;
  }

  cameraTrack() {
    const stream = this.localStream();
    return stream ? stream.getVideoTracks()[0] || null : null;
  }

  async connect(iceServers, iceTransportPolicy) {
    const stream = this.localStream();
    this.closeLink();
    const remote = new MediaStream();
    $("remote-video").srcObject = remote;
    const [audio] = stream ? stream.getAudioTracks() : [];
    const video = this.videoOffReason() ? null : this.cameraTrack();
    this.setState("connecting");
    this.link = new PeerLink({
      appointmentId: this.appointment().id,
      iceServers,
      iceTransportPolicy,
      send: this.send,
      // audio and camera both ways; the clinician's screen share arrives on the third
      transceivers: [
        [audio || "audio", DIRECTIONS[M_LINE.AUDIO]],
        [video || "video", DIRECTIONS[M_LINE.VIDEO]],
        ["video", DIRECTIONS[M_LINE.SCREEN]],
      ],
      onTrack: (event, index) => {
        if (index === M_LINE.SCREEN) {
          $("screen-video").srcObject = new MediaStream([event.track]);
          return;
        }
        remote.addTrack(event.track);
        $("stage-overlay").hidden = true;
        playRemote($("remote-video"), $("tap-to-play"));
      },
      onState: (state) => {
        this.setState(state);
        if (state === "failed") $("call-state").textContent = NO_ROUTE;
        if (state === "failed") {
          // Beyond API.md: `connected: false` tells the clinician the video could not connect at all.
          this.send({ type: ToServer.QUALITY, appointment_id: this.appointment().id, level: "poor", connected: false });
        }
      },
    });
    await this.link.offer();
    this.sendMediaState();
  }

  localStreamChanged() {
    if (this.link) this.send({ type: ToServer.CALL, appointment_id: this.appointment().id });
  }

  statusChanged(status) {
    if (status === "in_session" && !this.link) {
      // Rejoin a running call after a reload; the server answers with `call` if one runs.
      this.send({ type: ToServer.CALL, appointment_id: this.appointment().id });
    }
    if (status !== "in_session") this.stop();
  }

  toggleMute() {
    this.setMuted(this.localStream(), !this.muted);
    this.sendMediaState();
  }

  async toggleCamera() {
    this.cameraOff = !this.cameraOff;
    const button = $("camera-button");
    button.setAttribute("aria-pressed", String(this.cameraOff));
    button.setAttribute("aria-label", this.cameraOff ? "Turn my camera on" : "Turn my camera off");
    button.textContent = this.cameraOff ? "Camera on" : "Camera off";
    await this.applyVideo();
    this.sendMediaState();
  }

  // A phone stops the camera of a page in the background (iOS ends the track); the clinician
  // is told, and on return the camera comes back (reopened if it ended) and so does a call that
  // dropped meanwhile.
  async visibilityChanged(hidden) {
    this.background = hidden;
    if (!this.link) return;
    const track = this.cameraTrack();
    if (!hidden && track && track.readyState === "ended") {
      this.reopenCamera();
      return;
    }
    await this.applyVideo();
    this.sendMediaState();
    if (!hidden && ["failed", "disconnected", "closed"].includes(this.link.pc.connectionState)) {
      this.send({ type: ToServer.CALL, appointment_id: this.appointmentId() });
    }
  }

  consent(granted) {
    if (!this.requestId) return;
    this.send({ type: ToServer.SCREENSHOT_CONSENT, appointment_id: this.appointment().id, request_id: this.requestId, granted });
    this.requestId = null;
    $("consent").hidden = true;
    $("call-state").textContent = granted
      ? "You allowed one screenshot. Hold still for a moment."
      : "You declined the screenshot. Nothing was taken.";
  }

  handles(message) {
    if (message.ref === ToServer.SCREENSHOT_CONSENT || message.ref === ToServer.OFFER || message.ref === ToServer.CALL) {
      if (message.ref !== ToServer.CALL) $("call-state").textContent = message.message;
      return true;
    }
    return false;
  }

  otherSideChanged(message) {
    if ("screen" in message) $("screen-video").hidden = !message.screen;
  }

  onMessage(message) {
    if (this.handleCommon(message)) return;
    if (message.type === FromServer.SCREENSHOT_REQUEST) {
      this.requestId = message.request_id;
      $("consent").hidden = false;
      $("screenshot-consent-allow").focus();
    }
  }

  stop() {
    this.closeLink();
    $("remote-video").srcObject = null;
    $("screen-video").srcObject = null;
    $("screen-video").hidden = true;
    $("consent").hidden = true;
    $("stage-overlay").hidden = false;
    this.setState("idle");
  }
}
