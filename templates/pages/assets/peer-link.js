// The page's one RTCPeerConnection to the media worker. The browser always makes the offer;
// the worker answers with one complete SDP. We wait briefly for ICE gathering so the offer
// carries its candidates, and trickle any later ones. The m-lines follow the call's layout
// (protocol.js, call-layout.js): a join or a leave of another seat changes them on the same
// connection, and the page offers again.
import { ToServer } from "./protocol.js";

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
  // worker (the layout in protocol.js: audio, camera, screen, then a pair per further seat).
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
    this.negotiating = false; // an offer is out, its answer not yet applied
    this.again = false; // the m-lines changed meanwhile: offer again after that answer
  }

  async offer() {
    this.negotiating = true;
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
    this.negotiating = false;
    if (this.again) await this.renegotiate();
  }

  // Offers again on this connection (a seat joined or left, the screen share began or ended);
  // while an offer is out, once its answer is in.
  async renegotiate() {
    if (this.pc.signalingState === "closed") return;
    if (this.negotiating) {
      this.again = true;
      return;
    }
    this.again = false;
    await this.offer();
  }

  // Brings the m-lines to `plan` (call-layout.js: [{kind, direction, track?}] in m-line
  // order): sets the directions, adds the m-lines missing at the end, and puts `track` on the
  // m-lines that name one. True when anything changed (then offer again).
  async layout(plan) {
    let changed = false;
    for (const [index, line] of plan.entries()) {
      const transceiver = this.transceivers[index];
      if (!transceiver) {
        this.addTransceiver(line.track || line.kind, line.direction);
        changed = true;
        continue;
      }
      if ("track" in line && transceiver.sender.track !== line.track) {
        await transceiver.sender.replaceTrack(line.track);
        changed = true;
      }
      if (transceiver.direction !== line.direction && transceiver.direction !== "stopped") {
        transceiver.direction = line.direction;
        changed = true;
      }
    }
    return changed;
  }

  // An m-line added later, at the end, with the same codec order.
  addTransceiver(trackOrKind, direction) {
    const transceiver = this.pc.addTransceiver(trackOrKind, { direction });
    preferForwardedCodecs(transceiver);
    this.transceivers.push(transceiver);
    return transceiver;
  }

  close() {
    clearTimeout(this.connectTimer);
    this.pc.close();
  }
}
