// What every call page shares (CallSide): the call's state line, the messages all receive
// (call, call_failed, answer, participants, media_state, quality), the tiles and the m-lines of
// the seats taken, muting, audio only, why the video is off, and the quality of the line. The
// connection itself is PeerLink (peer-link.js).
import { FromServer, M_LINE, ToServer, mLineSlot, mLineSource } from "./protocol.js";
import { QualityMonitor } from "./quality.js";
import { pageMLines } from "./call-layout.js";
import { othersPresent } from "./participants.js";
import { Tiles } from "./tiles.js";
import { PeerLink, callWords } from "./peer-link.js";

const LEVEL_WORDS = { good: "good", fair: "fair", poor: "poor" };
// A poor line for this long suggests audio only.
const POOR_SUGGESTS_AUDIO_ONLY_MS = 10000;

export class CallSide {
  // `other` names the first other seat (the one in `remote-video`) in words; `seat` is the
  // page's own (a guest's from GET /api/visit/{token}).
  constructor({ send, other, seat, canRemove = false, onRemove = null, onParticipants = null }) {
    this.send = send;
    this.onParticipants = onParticipants;
    this.other = other;
    this.seat = seat;
    this.participants = [];
    this.tiles = new Tiles({ container: document.getElementById("tiles"), primary: document.getElementById("primary-tile"), canRemove, onRemove });
    this.tiles.setSeat(seat);
    this.link = null;
    this.layouts = Promise.resolve(); // one change of the m-lines after the other
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

  // The local microphone track, when there is one.
  audioTrack() {
    return null;
  }

  // -- the layout: m-lines and tiles by seat ----------------------------------------------------

  // Whether the page sends its screen on m-line 2 (the clinician's, while sharing).
  sharing() {
    return false;
  }

  // The m-lines to offer for the seats taken now; `withTracks` for a new connection (its own
  // microphone and camera on 0-1, the screen on 2 when sharing).
  plan(withTracks = false) {
    const taken = new Set(othersPresent(this.participants, this.seat).map((p) => p.seat));
    const existing = this.link ? this.link.transceivers.length : 0;
    const plan = pageMLines(this.seat, taken, { sharing: this.sharing(), existing });
    if (withTracks) {
      if (plan[M_LINE.AUDIO]) plan[M_LINE.AUDIO].track = this.audioTrack();
      if (plan[M_LINE.VIDEO]) plan[M_LINE.VIDEO].track = this.videoOffReason() ? null : this.cameraTrack();
    }
    if (this.seat === "clinician" && plan[M_LINE.SCREEN]) plan[M_LINE.SCREEN].track = this.screenTrack();
    return plan;
  }

  screenTrack() {
    return null;
  }

  // The new connection's m-lines, as PeerLink takes them.
  transceiversToOffer() {
    return this.plan(true).map((line) => [line.track || line.kind, line.direction]);
  }

  // The m-lines after a change (a seat taken or emptied, the screen share): offer again when
  // they changed, or when `force`.
  relayout({ force = false } = {}) {
    this.layouts = this.layouts.then(async () => {
      const link = this.link;
      if (!link) return;
      const changed = await link.layout(this.plan());
      if ((changed || force) && this.link === link) await link.renegotiate();
    }).catch(() => {
      // a connection closed meanwhile: the next `call` starts from the layout of that moment
    });
    return this.layouts;
  }

  participantsChanged(participants) {
    this.participants = Array.isArray(participants) ? participants : [];
    this.tiles.show(this.participants);
    this.attachTracks();
    this.relayout();
    if (this.onParticipants) this.onParticipants(this.participants, this.seat);
  }

  // A remote track on the m-line at `index`: to the tile of the seat that m-line carries (the
  // screen share to the screen's own video).
  remoteTrack(track, index) {
    const source = mLineSource(this.seat, index);
    if (!source) return;
    if (mLineSlot(index) === "screen") {
      this.remoteScreen(track);
      return;
    }
    const video = this.tiles.addTrack(source, track);
    document.getElementById("stage-overlay").hidden = true;
    if (video) playRemote(video, document.getElementById("tap-to-play"));
  }

  remoteScreen() {}

  // After the tiles changed: every m-line that receives puts its track into its seat's tile.
  attachTracks() {
    if (!this.link) return;
    this.link.transceivers.forEach((transceiver, index) => {
      const receiving = transceiver.currentDirection === "sendrecv" || transceiver.currentDirection === "recvonly";
      if (receiving && transceiver.receiver.track && mLineSlot(index) !== "screen" && this.tiles.tileOf(mLineSource(this.seat, index))) {
        this.remoteTrack(transceiver.receiver.track, index);
      }
    });
  }

  // A new connection: fresh streams, and the first other seat's in `remote-video` at once.
  newLink(options) {
    this.closeLink();
    this.tiles.newStreams();
    this.tiles.stream(this.tiles.primarySeatOf);
    this.link = new PeerLink({ ...options, transceivers: this.transceiversToOffer(), onTrack: (event, index) => this.remoteTrack(event.track, index) });
    return this.link;
  }

  // `media_state` and `quality` name their sender's seat; one without (an older server) is the
  // first other seat's.
  seatOfMessage(message) {
    return message.seat || this.tiles.primarySeatOf;
  }

  fromPrimary(message) {
    return this.seatOfMessage(message) === this.tiles.primarySeatOf;
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
      case FromServer.PARTICIPANTS:
        this.participantsChanged(message.participants);
        return true;
      case FromServer.QUALITY:
        this.tiles.quality(this.seatOfMessage(message), message);
        if (!this.fromPrimary(message)) return true;
        this.showRemoteQuality(message);
        this.otherSideQuality(message);
        return true;
      case FromServer.MEDIA_STATE:
        this.tiles.mediaState(this.seatOfMessage(message), message);
        this.otherSideChanged(message);
        if (!this.fromPrimary(message)) return true;
        document.getElementById("remote-muted").hidden = message.audio !== false;
        this.showRemoteVideo(message);
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
