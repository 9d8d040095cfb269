// WebRTC helpers shared by both sides. Each browser holds one RTCPeerConnection to the media
// worker and always makes the offer; the worker answers with one complete SDP. We wait
// briefly for ICE gathering so the offer carries its candidates, and trickle any later ones.

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

// Echo cancellation works only on audio the browser plays itself: remote audio goes through a
// media element (never Web Audio), and every microphone opens with these three on.
export function mediaConstraints({ audioDeviceId, videoDeviceId } = {}) {
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
  if (audioDeviceId) audio.deviceId = { exact: audioDeviceId };
  if (videoDeviceId) video.deviceId = { exact: videoDeviceId };
  return { audio, video };
}

export async function getLocalMedia(devices) {
  return navigator.mediaDevices.getUserMedia(mediaConstraints(devices));
}

export class PeerLink {
  // `transceivers` is a list of [trackOrKind, direction]; the order is the contract with the
  // worker (audio, camera, screen).
  constructor({ appointmentId, iceServers, iceTransportPolicy, send, transceivers, onTrack, onState }) {
    this.appointmentId = appointmentId;
    // Names this RTCPeerConnection to the worker: a new one is a new peer there, not a renegotiation.
    this.peerId = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    this.send = send;
    this.onState = onState;
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [], iceTransportPolicy: iceTransportPolicy || "all" });
    this.transceivers = transceivers.map(([trackOrKind, direction]) => this.pc.addTransceiver(trackOrKind, { direction }));
    this.pc.addEventListener("track", (event) => onTrack(event, this.transceivers.indexOf(event.transceiver)));
    this.pc.addEventListener("icecandidate", (event) => {
      if (event.candidate && this.offered) {
        this.send({
          type: "candidate", appointment_id: this.appointmentId, peer_id: this.peerId, candidate: event.candidate.toJSON(),
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
    this.send({ type: "offer", appointment_id: this.appointmentId, peer_id: this.peerId, sdp: this.pc.localDescription.sdp });
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

  close() {
    clearTimeout(this.connectTimer);
    this.pc.close();
  }
}

// What the clinician's and the patient's calls share: the call's state line, the messages both
// receive (call, call_failed, answer, media_state) and muting the microphone.
export class CallSide {
  constructor({ send }) {
    this.send = send;
    this.link = null;
    this.muted = false;
    this.state = "idle";
  }

  setState(state) {
    this.state = state;
    const line = document.getElementById("call-state");
    line.textContent = callWords(state);
    line.dataset.state = state;
  }

  // Returns true when the message was one of the shared ones.
  handleCommon(message) {
    switch (message.type) {
      case "call":
        this.connect(message.ice_servers, message.ice_transport_policy);
        return true;
      case "call_failed":
        this.setState("failed");
        document.getElementById("call-state").textContent = message.message;
        return true;
      case "answer":
        if (this.link) this.link.answer(message.sdp);
        return true;
      case "quality":
        this.otherSideQuality(message);
        return true;
      case "media_state":
        document.getElementById("remote-muted").hidden = message.audio !== false;
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
}
