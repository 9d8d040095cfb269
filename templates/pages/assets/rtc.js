// WebRTC helpers shared by both sides. Each browser holds one RTCPeerConnection to the media
// worker and always makes the offer; the worker answers with one complete SDP. We wait
// briefly for ICE gathering so the offer carries its candidates, and trickle any later ones.
import { FromServer, M_LINE, ToServer } from "./protocol.js";
import { QualityMonitor } from "./quality.js";

const CALL_WORDS = {
  idle: "",
  connecting: "Connecting the video…",
  connected: "Connected.",
  reconnecting: "Connection interrupted. Reconnecting…",
  failed: "The video connection failed. Check your internet connection, then press the phone to try again.",
};

// How long a new peer connection may take to connect before the page says it failed.
const CONNECT_TIMEOUT_MS = 20000;

export function callWords(state) {
  return CALL_WORDS[state] || "";
}

export function waitForGathering(pc, ms = 1500) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ms);
  });
}

// -- codecs ---------------------------------------------------------------------------------

// The worker forwards VP8 and H264 (packetization-mode 1, what iOS Safari sends) without
// re-encoding; every offer lists both first where the browser has them (Firefox offline has no
// H264), the rest of the browser's codecs (RTX, RED, FEC…) after them.
function codecRank(codec) {
  const name = codec.mimeType.toLowerCase();
  if (name === "video/vp8") return 0;
  if (name === "video/h264") return /packetization-mode=1/.test(codec.sdpFmtpLine || "") ? 1 : 2;
  return 3;
}

function preferForwardedCodecs(transceiver) {
  if (transceiver.receiver.track.kind !== "video" || !transceiver.setCodecPreferences) return;
  const capabilities = window.RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities("video");
  if (!capabilities) return;
  const codecs = [...capabilities.codecs].sort((a, b) => codecRank(a) - codecRank(b));
  try {
    transceiver.setCodecPreferences(codecs);
  } catch {
    // A browser that refuses an order keeps its own, which lists VP8 in any case.
  }
}

export class PeerLink {
  // `transceivers` is a list of [trackOrKind, direction]; the order is the contract with the
  // worker (M_LINES in protocol.js: audio, camera, screen).
  constructor({ appointmentId, iceServers, iceTransportPolicy, send, transceivers, onTrack, onState }) {
    this.appointmentId = appointmentId;
    // Names this RTCPeerConnection to the worker: a new one is a new peer there, not a renegotiation.
    this.peerId = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    this.send = send;
    this.onState = onState;
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [], iceTransportPolicy: iceTransportPolicy || "all" });
    this.transceivers = transceivers.map(([trackOrKind, direction]) => this.pc.addTransceiver(trackOrKind, { direction }));
    for (const transceiver of this.transceivers) preferForwardedCodecs(transceiver);
    this.pc.addEventListener("track", (event) => onTrack(event, this.transceivers.indexOf(event.transceiver)));
    this.pc.addEventListener("icecandidate", (event) => {
      if (event.candidate && this.offered) {
        this.send({
          type: ToServer.CANDIDATE, appointment_id: this.appointmentId, peer_id: this.peerId, candidate: event.candidate.toJSON(),
        });
      }
    });
    this.pc.addEventListener("connectionstatechange", () => {
      const state = this.pc.connectionState;
      if (state === "connected") clearTimeout(this.connectTimer);
      if (state === "connected") this.onState("connected");
      else if (state === "disconnected") this.onState("reconnecting");
      else if (state === "failed") this.onState("failed");
    });
    this.offered = false;
  }

  async offer() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await waitForGathering(this.pc);
    this.offered = true;
    this.send({ type: ToServer.OFFER, appointment_id: this.appointmentId, peer_id: this.peerId, sdp: this.pc.localDescription.sdp });
    // A browser with no way out (UDP blocked and no TURN) may stay "connecting" for ever: give
    // up after a while, and at once when it gathered no candidate at all.
    clearTimeout(this.connectTimer);
    const noCandidate = this.pc.iceGatheringState === "complete" && !/\r\na=candidate:/.test(this.pc.localDescription.sdp);
    this.connectTimer = setTimeout(() => {
      if (this.pc.connectionState !== "connected" && this.pc.signalingState !== "closed") this.onState("failed");
    }, noCandidate ? 0 : CONNECT_TIMEOUT_MS);
  }

  async answer(sdp) {
    if (this.pc.signalingState !== "have-local-offer") return;
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  // A transceiver added later (the clinician's screen share), with the same codec order.
  addTransceiver(track, direction) {
    const transceiver = this.pc.addTransceiver(track, { direction });
    preferForwardedCodecs(transceiver);
    return transceiver;
  }

  close() {
    clearTimeout(this.connectTimer);
    this.pc.close();
  }
}

// What the clinician's and the patient's calls share: the call's state line, the messages both
// receive (call, call_failed, answer, media_state, quality), muting, audio only, why the video
// is off, and the quality of the line on both sides. `other` names the other side in words.
const LEVEL_WORDS = { good: "good", fair: "fair", poor: "poor" };
// A poor line for this long suggests audio only.
const POOR_SUGGESTS_AUDIO_ONLY_MS = 10000;

export class CallSide {
  constructor({ send, other }) {
    this.send = send;
    this.other = other;
    this.link = null;
    this.monitor = null;
    this.muted = false;
    this.cameraOff = false;
    this.audioOnly = false;
    this.background = false;
    this.remoteVideoOn = true;
    this.poorTimer = null;
    this.state = "idle";
    document.getElementById("audio-only-button").addEventListener("click", () => this.setAudioOnly(!this.audioOnly));
    document.getElementById("audio-only-accept").addEventListener("click", () => this.setAudioOnly(true));
    document.getElementById("audio-only-dismiss").addEventListener("click", () => this.hideSuggestion());
  }

  appointmentId() {
    throw new Error("a call side names its appointment");
  }

  // The local camera track, when there is one.
  cameraTrack() {
    return null;
  }

  setState(state) {
    this.state = state;
    const line = document.getElementById("call-state");
    line.textContent = callWords(state);
    line.dataset.state = state;
    if (state === "connected") this.watchQuality();
    if (state === "idle" || state === "failed") this.stopWatchingQuality();
  }

  // Returns true when the message was one of the shared ones.
  handleCommon(message) {
    switch (message.type) {
      case FromServer.CALL:
        this.connect(message.ice_servers, message.ice_transport_policy);
        return true;
      case FromServer.CALL_FAILED:
        this.setState("failed");
        document.getElementById("call-state").textContent = message.message;
        return true;
      case FromServer.ANSWER:
        if (this.link) this.link.answer(message.sdp);
        return true;
      case FromServer.QUALITY:
        this.showRemoteQuality(message);
        this.otherSideQuality(message);
        return true;
      case FromServer.MEDIA_STATE:
        document.getElementById("remote-muted").hidden = message.audio !== false;
        this.showRemoteVideo(message);
        this.otherSideChanged(message);
        return true;
      default:
        return false;
    }
  }

  otherSideChanged() {}

  otherSideQuality() {}

  setMuted(stream, muted) {
    this.muted = muted;
    if (stream) for (const track of stream.getAudioTracks()) track.enabled = !muted;
    const button = document.getElementById("mute-button");
    button.setAttribute("aria-pressed", String(muted));
    button.setAttribute("aria-label", muted ? "Unmute my microphone" : "Mute my microphone");
    button.textContent = muted ? "Unmute" : "Mute";
  }

  // -- video on or off ------------------------------------------------------------------------

  videoOffReason() {
    if (this.background) return "background";
    if (this.audioOnly) return "audio_only";
    if (this.cameraOff) return "camera_off";
    return null;
  }

  // Stops or resumes sending the camera without renegotiating: the camera m-line stays, its
  // sender has no track while the video is off (so nothing is encoded or sent).
  async applyVideo() {
    const track = this.cameraTrack();
    const off = this.videoOffReason();
    if (track) track.enabled = !off;
    const camera = this.link && this.link.transceivers[M_LINE.VIDEO];
    if (camera && camera.sender.track !== (off ? null : track)) {
      try {
        await camera.sender.replaceTrack(off ? null : track);
      } catch {
        // a closed connection: the next call starts from this state
      }
    }
  }

  mediaState() {
    const off = this.videoOffReason();
    const state = { type: ToServer.MEDIA_STATE, appointment_id: this.appointmentId(), audio: !this.muted, video: !off };
    if (off) state.video_off = off;
    return state;
  }

  sendMediaState() {
    if (this.link) this.send(this.mediaState());
  }

  async setAudioOnly(on) {
    this.audioOnly = on;
    this.hideSuggestion();
    const button = document.getElementById("audio-only-button");
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? "Turn video back on" : "Audio only";
    await this.applyVideo();
    this.sendMediaState();
  }

  showRemoteVideo(message) {
    this.remoteVideoOn = message.video !== false;
    const note = document.getElementById("remote-video-off");
    const words = {
      background: `Camera paused: ${this.other.pronoun} page is in the background. The video comes back when ${this.other.subject} returns to it.`,
      audio_only: `Audio only: ${this.other.subject} turned video off to keep the call going on a weak connection. You can still hear each other.`,
      camera_off: `${this.other.Name} turned the camera off. You can still hear each other.`,
    };
    note.textContent = this.remoteVideoOn ? "" : words[message.video_off] || words.camera_off;
    note.dataset.reason = this.remoteVideoOn ? "" : message.video_off || "camera_off";
    note.hidden = this.remoteVideoOn;
  }

  // -- quality --------------------------------------------------------------------------------

  watchQuality() {
    this.stopWatchingQuality();
    if (!this.link) return;
    this.monitor = new QualityMonitor(this.link.pc, {
      expectVideo: () => this.remoteVideoOn,
      onLevel: (level, figures) => this.ownLevelChanged(level, figures),
    });
  }

  stopWatchingQuality() {
    if (this.monitor) this.monitor.stop();
    this.monitor = null;
    clearTimeout(this.poorTimer);
    const indicator = document.getElementById("quality-indicator");
    indicator.hidden = true;
    delete indicator.dataset.level;
  }

  ownLevelChanged(level, figures) {
    const indicator = document.getElementById("quality-indicator");
    indicator.hidden = false;
    indicator.dataset.level = level;
    indicator.querySelector(".words").textContent = `Your connection: ${LEVEL_WORDS[level]}`;
    indicator.title = `Round trip ${Math.round(figures.rttMs)} ms, ${Math.round(figures.loss * 100)}% loss`
      + (figures.fps === null ? "" : `, ${Math.round(figures.fps)} frames a second`);
    this.send({
      type: ToServer.QUALITY, appointment_id: this.appointmentId(), level,
      rtt_ms: Math.round(figures.rttMs), loss: Math.round(figures.loss * 1000) / 1000,
    });
    clearTimeout(this.poorTimer);
    if (level !== "poor") this.hideSuggestion();
    else if (!this.audioOnly) this.poorTimer = setTimeout(() => this.suggestAudioOnly(), POOR_SUGGESTS_AUDIO_ONLY_MS);
  }

  suggestAudioOnly() {
    if (this.audioOnly || !this.monitor || this.monitor.level !== "poor") return;
    document.getElementById("audio-only-suggestion").hidden = false;
  }

  hideSuggestion() {
    document.getElementById("audio-only-suggestion").hidden = true;
  }

  showRemoteQuality(message) {
    const shown = document.getElementById("remote-quality");
    if (message.connected === false) {
      shown.hidden = true;
      return;
    }
    shown.hidden = false;
    shown.dataset.level = message.level;
    shown.textContent = `${this.other.Possessive} connection: ${LEVEL_WORDS[message.level] || message.level}`;
  }

  closeLink() {
    this.stopWatchingQuality();
    if (this.link) this.link.close();
    this.link = null;
    document.getElementById("remote-quality").hidden = true;
    document.getElementById("remote-video-off").hidden = true;
    this.remoteVideoOn = true;
  }
}

// A remote <video> that may not start on its own (autoplay rules on phones): one tap starts it.
export function playRemote(video, tapButton) {
  const started = video.play();
  if (!started || !started.catch) return;
  started.then(() => { tapButton.hidden = true; }).catch(() => {
    tapButton.hidden = false;
    tapButton.onclick = () => video.play().then(() => { tapButton.hidden = true; }).catch(() => {});
  });
}
