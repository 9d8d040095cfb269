// How good a call's connection is, from the peer connection's own statistics.

export const QUALITY_SAMPLE_MS = 2000;
// Round-trip time, loss and received frame rate, as the common WebRTC rules of thumb grade
// them: beyond 250 ms a conversation starts to overlap, beyond 500 ms it breaks; a few per cent
// of loss shows as blocky video, a tenth freezes it; below 15 frames a second motion stutters.
export function qualityLevel({ rttMs, loss, fps }) {
  if (rttMs > 500 || loss > 0.1 || (fps !== null && fps < 5)) return "poor";
  if (rttMs > 250 || loss > 0.03 || (fps !== null && fps < 15)) return "fair";
  return "good";
}

// Reads one peer connection's statistics every QUALITY_SAMPLE_MS and reports a level: the
// first at once, a change once two samples in a row agree (one lost burst is not a bad line).
export class QualityMonitor {
  constructor(pc, { expectVideo, onLevel }) {
    this.pc = pc;
    this.expectVideo = expectVideo;
    this.onLevel = onLevel;
    this.previous = null;
    this.level = null;
    this.candidate = null;
    this.timer = setInterval(() => this.sample().catch(() => {}), QUALITY_SAMPLE_MS);
    this.sample().catch(() => {});
  }

  async sample() {
    const stats = await this.pc.getStats();
    const now = { at: performance.now(), received: 0, lost: 0, frames: new Map(), rttMs: null, remoteLoss: 0 };
    stats.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) {
        const pair = stats.get(s.selectedCandidatePairId);
        if (pair && pair.currentRoundTripTime !== undefined) now.rttMs = pair.currentRoundTripTime * 1000;
      }
      if (s.type === "candidate-pair" && s.selected && s.currentRoundTripTime !== undefined && now.rttMs === null) {
        now.rttMs = s.currentRoundTripTime * 1000;
      }
      if (s.type === "remote-inbound-rtp") {
        if (s.roundTripTime !== undefined && now.rttMs === null) now.rttMs = s.roundTripTime * 1000;
        if (s.fractionLost !== undefined) now.remoteLoss = Math.max(now.remoteLoss, s.fractionLost);
      }
      if (s.type === "inbound-rtp") {
        now.received += s.packetsReceived || 0;
        now.lost += Math.max(0, s.packetsLost || 0);
        if (s.kind === "video") now.frames.set(s.id, s.framesDecoded || 0);
      }
    });
    const before = this.previous;
    this.previous = now;
    if (!before) return;
    const seconds = (now.at - before.at) / 1000;
    const received = now.received - before.received;
    const lost = now.lost - before.lost;
    const inboundLoss = received + lost > 0 ? lost / (received + lost) : 0;
    // The fastest of the video streams (the camera; a stopped screen share decodes nothing).
    let fps = null;
    if (this.expectVideo()) {
      for (const [id, frames] of now.frames) {
        // A stream counts once it has decoded a first frame: the first seconds of a call are not a bad line.
        if (frames > 0) fps = Math.max(fps || 0, (frames - (before.frames.get(id) || 0)) / seconds);
      }
    }
    const figures = { rttMs: now.rttMs || 0, loss: Math.max(inboundLoss, now.remoteLoss), fps };
    const level = qualityLevel(figures);
    const settled = this.level === null || level === this.candidate;
    this.candidate = level;
    if (settled && level !== this.level) {
      this.level = level;
      this.onLevel(level, figures);
    }
  }

  stop() {
    clearInterval(this.timer);
  }
}

// -- the peer connection ----------------------------------------------------------------------
