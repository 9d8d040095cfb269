// The patient's and a guest's side of the video call: connect when the clinician calls, show
// the others' video (and the clinician's screen when shared), mute, camera off, and pause the
// camera while the page is in the background (as phones do), recovering when it comes back.
// Screenshot requests are the patient's alone (`consent`, patient-only.js).
import { FromServer, ToServer } from "./protocol.js";
import { CallSide } from "./rtc.js";

const $ = (id) => document.getElementById(id);
// ICE found no way through: most often a hospital or office network that blocks video calls.
const NO_ROUTE = "We could not connect the video: your network may block video calls (hospital and office"
  + " networks often do). Switch to mobile data or another Wi-Fi, then reload this page. Your clinician"
  + " has been told and can call you by phone instead.";
// A page asks to join a running call at most this often (the server's `call` answers it at once).
const JOIN_ASK_MS = 5000;

export class PatientCall extends CallSide {
  // `seat`: "patient", or a guest's seat (GET /api/visit/{token} says which);
  // `consent`: the patient's screenshot consent (none on a guest's page).
  constructor({ send, appointment, localStream, reopenCamera, seat = "patient", consent = null, onParticipants = null }) {
    super({
      send,
      seat,
      onParticipants,
      other: { subject: "your clinician", pronoun: "your clinician's", Name: "Your clinician", Possessive: "Your clinician's" },
    });
    this.appointment = appointment;
    this.localStream = localStream;
    this.reopenCamera = reopenCamera;
    this.consent = consent;
    document.addEventListener("visibilitychange", () => this.visibilityChanged(document.visibilityState === "hidden"));
    $("mute-button").addEventListener("click", () => this.toggleMute());
    $("camera-button").addEventListener("click", () => this.toggleCamera());
  }

  appointmentId() {
    return this.appointment().id;
  }

  cameraTrack() {
    const stream = this.localStream();
    return stream ? stream.getVideoTracks()[0] || null : null;
  }

  audioTrack() {
    const stream = this.localStream();
    return stream ? stream.getAudioTracks()[0] || null : null;
  }

  remoteScreen(track) {
    $("screen-video").srcObject = new MediaStream([track]);
  }

  async connect(iceServers, iceTransportPolicy) {
    this.setState("connecting");
    // Audio and camera both ways, the clinician's screen share in on the third, and a pair in
    // per further seat taken (call-layout.js).
    this.link = this.newLink({
      appointmentId: this.appointment().id,
      iceServers,
      iceTransportPolicy,
      send: this.send,
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

  // `rejoin`: the page has just opened or reconnected and found the session running; it asks to
  // join the call, and the server answers `call` if one runs. Not on the live push of a take:
  // the clinician's own `call` reaches this page then, and asking as well would race it into a
  // second peer connection. Asked once until the answer has had time to come.
  statusChanged(status, { rejoin = false } = {}) {
    const asked = this.joinAskedAt && Date.now() - this.joinAskedAt < JOIN_ASK_MS;
    if (status === "in_session" && rejoin && !this.link && !asked) {
      this.joinAskedAt = Date.now();
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

  handles(message) {
    if (this.consent && this.consent.handles(message)) return true;
    if (message.ref === ToServer.OFFER || message.ref === ToServer.CALL) {
      if (message.ref !== ToServer.CALL) $("call-state").textContent = message.message;
      return true;
    }
    return false;
  }

  otherSideChanged(message) {
    // the screen share is the clinician's
    if ("screen" in message && (message.seat || "clinician") === "clinician") $("screen-video").hidden = !message.screen;
  }

  onMessage(message) {
    if (this.handleCommon(message)) return;
    if (message.type === FromServer.SCREENSHOT_REQUEST && this.consent) this.consent.requested(message);
  }

  stop() {
    this.closeLink();
    this.tiles.reset();
    if (this.participants.length) this.tiles.show(this.participants);
    $("remote-video").srcObject = null;
    $("screen-video").srcObject = null;
    $("screen-video").hidden = true;
    if (this.consent) this.consent.hide();
    $("stage-overlay").hidden = false;
    this.setState("idle");
  }
}
