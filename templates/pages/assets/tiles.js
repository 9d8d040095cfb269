// The call's tiles: one `participant-tile` per other participant present (data-role, data-seat,
// a <video> with that seat's audio and camera, the name, the role in words, muted, camera off
// and the quality of their line). The first other seat's tile is the page's own (it holds
// `remote-video`, so the call of two looks as it always did); the others are made and dropped
// as `participants` says who is there. A guest's tile has `remove-guest` on the clinician's page.
import { el } from "./common.js";
import { nameAndRole, othersPresent, primarySeat, roleWords } from "./participants.js";

const LEVEL_WORDS = { good: "good", fair: "fair", poor: "poor" };

function tileParts(tile) {
  let label = tile.querySelector(".tile-label");
  if (!label) {
    label = el("div", { class: "tile-label" },
      el("span", { class: "tile-name" }),
      el("span", { class: "tile-role" }),
      el("span", { class: "muted-badge tile-muted", text: "Muted", hidden: true }),
      el("span", { class: "tile-camera", text: "Camera off", hidden: true }),
      el("span", { class: "tile-quality", hidden: true }));
    tile.append(label);
  }
  return {
    label,
    name: label.querySelector(".tile-name"),
    role: label.querySelector(".tile-role"),
    muted: label.querySelector(".tile-muted"),
    camera: label.querySelector(".tile-camera"),
    quality: label.querySelector(".tile-quality"),
  };
}

export class Tiles {
  // `primary`: the template's tile holding `remote-video`; `canRemove`: the clinician's page
  // (guests' tiles get `remove-guest`, which calls `onRemove(participant)`).
  constructor({ container, primary, canRemove = false, onRemove = null }) {
    this.container = container;
    this.primary = primary;
    this.primaryVideo = primary.querySelector("video");
    this.canRemove = canRemove;
    this.onRemove = onRemove;
    this.seat = null;
    this.primarySeatOf = null;
    this.streams = new Map();
    this.tiles = new Map(); // seat -> the tile of a participant other than the first
    tileParts(primary);
  }

  setSeat(seat) {
    this.seat = seat;
    this.primarySeatOf = primarySeat(seat);
    this.primary.dataset.seat = this.primarySeatOf;
  }

  tileOf(seat) {
    return seat === this.primarySeatOf ? this.primary : this.tiles.get(seat) || null;
  }

  videoOf(seat) {
    const tile = this.tileOf(seat);
    return tile ? tile.querySelector("video") : null;
  }

  // The MediaStream that the seat's tile plays (made on first use).
  stream(seat) {
    let stream = this.streams.get(seat);
    if (!stream) {
      stream = new MediaStream();
      this.streams.set(seat, stream);
    }
    const video = this.videoOf(seat);
    if (video && video.srcObject !== stream) video.srcObject = stream;
    return stream;
  }

  addTrack(seat, track) {
    const stream = this.stream(seat);
    for (const old of stream.getTracks()) if (old.kind === track.kind && old !== track) stream.removeTrack(old);
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    return this.videoOf(seat);
  }

  // Lays out a tile per other participant present, in SEATS order.
  show(participants) {
    const others = othersPresent(participants, this.seat);
    const seen = new Set();
    for (const participant of others) {
      seen.add(participant.seat);
      let tile = this.tileOf(participant.seat);
      if (!tile) tile = this.makeTile(participant);
      this.describe(tile, participant);
      this.container.append(tile); // keeps SEATS order; the primary tile stays first
    }
    this.container.prepend(this.primary);
    // The first other seat's tile gives way only to others (else its overlay says what happens).
    this.primary.hidden = !seen.has(this.primarySeatOf) && seen.size > 0;
    for (const [seat, tile] of this.tiles) {
      if (seen.has(seat)) continue;
      tile.remove();
      this.tiles.delete(seat);
      this.streams.delete(seat);
    }
    this.container.dataset.count = String(Math.max(1, seen.size));
    this.container.closest(".stage")?.classList.toggle("multi", seen.size > 1);
  }

  makeTile(participant) {
    const video = el("video", { autoplay: true, playsinline: true });
    const tile = el("div", { class: "participant-tile", testid: "participant-tile", role: "group" }, video);
    tileParts(tile);
    this.tiles.set(participant.seat, tile);
    const stream = this.streams.get(participant.seat);
    if (stream) video.srcObject = stream;
    return tile;
  }

  describe(tile, participant) {
    const parts = tileParts(tile);
    tile.dataset.role = participant.role;
    tile.dataset.seat = participant.seat;
    tile.dataset.participantId = participant.id || "";
    tile.setAttribute("aria-label", nameAndRole(participant));
    parts.name.textContent = participant.name || "";
    parts.role.textContent = roleWords(participant);
    tile.querySelector("video").setAttribute("aria-label", `Video of ${participant.name || roleWords(participant)}`);
    this.mediaState(participant.seat, participant);
    const remove = tile.querySelector('[data-testid="remove-guest"]');
    if (this.canRemove && participant.role === "guest" && !remove) {
      const button = el("button", {
        class: "btn tile-remove", type: "button", testid: "remove-guest", text: "Remove",
        "aria-label": `Remove ${participant.name} (${roleWords(participant).toLowerCase()}) from the visit`,
      });
      button.addEventListener("click", () => this.onRemove && this.onRemove(this.participantOf(tile), button));
      tile.append(button);
    }
    tile.participant = participant;
  }

  participantOf(tile) {
    return tile.participant;
  }

  // Mute and camera from `participants` or `media_state` (only the fields it holds).
  mediaState(seat, state) {
    const tile = this.tileOf(seat);
    if (!tile) return;
    const parts = tileParts(tile);
    if (typeof state.audio === "boolean") {
      parts.muted.hidden = state.audio;
      tile.dataset.muted = String(!state.audio);
    }
    if (typeof state.video === "boolean") {
      parts.camera.hidden = state.video;
      tile.dataset.cameraOff = String(!state.video);
    }
  }

  quality(seat, message) {
    const tile = this.tileOf(seat);
    if (!tile) return;
    const shown = tileParts(tile).quality;
    shown.hidden = message.connected === false;
    shown.dataset.level = message.level;
    shown.className = "tile-quality quality";
    shown.textContent = `Connection: ${LEVEL_WORDS[message.level] || message.level}`;
    tile.dataset.quality = message.level;
  }

  // The call ended: no streams, no extra tiles; the first tile as before any `participants`.
  reset() {
    for (const tile of this.tiles.values()) tile.remove();
    this.tiles.clear();
    this.streams.clear();
    this.primaryVideo.srcObject = null;
    this.primary.hidden = false;
    this.container.dataset.count = "1";
    this.container.closest(".stage")?.classList.remove("multi");
  }

  // A new peer connection: fresh streams (the old tracks ended with the old connection).
  newStreams() {
    this.streams.clear();
    for (const tile of [this.primary, ...this.tiles.values()]) tile.querySelector("video").srcObject = null;
  }
}
