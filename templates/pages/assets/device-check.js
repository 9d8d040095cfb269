// The waiting room's device check, before the clinician comes: a camera preview, camera and
// microphone pickers, a microphone level and a test sound, with plain guidance for each failure.
// What it found goes to the clinician's row as `device_check` (README, "Device check").
//
// The level meter analyses the LOCAL microphone only: its AnalyserNode is connected to nothing
// else, and remote audio never passes through Web Audio (echo cancellation works only on audio
// the browser plays itself, see media-constraints.js). The test sound plays through an <audio> element of its
// own, outside any call.
import { el } from "./common.js";
import { chime } from "./chime.js";
import { failureOf, HEARD_NOTHING, HELP, WORDS } from "./device-words.js";
import { getLocalMedia, mediaConstraints } from "./media-constraints.js";

const $ = (id) => document.getElementById(id);

// Quiet for this long, with the meter listening, and the page says it heard nothing.
const SILENT_AFTER_MS = 8000;
// Of 100 (about -55 dBFS): above what a quiet room leaves after noise suppression.
const SOUND_LEVEL = 8;
const METER_EVERY_MS = 100;

async function permission(name) {
  try {
    return (await navigator.permissions.query({ name })).state;
  } catch {
    return "unknown"; // a browser that cannot say (older Firefox and Safari)
  }
}

export class DeviceCheck {
  // `reopen()` opens the camera again (through the page, which hands the new stream to a running
  // call); `report({camera, microphone})` sends what the check found.
  constructor({ reopen, report }) {
    this.reopen = reopen;
    this.report = report;
    this.stream = null;
    this.chosen = { audio: null, video: null };
    this.camera = "pending";
    this.microphone = "pending";
    this.heard = false;
    this.level = 0;
    this.sent = null;
    this.audio = null;
    this.timer = null;
    this.collapsed = false;
    this.stopped = false;
    $("camera-select").addEventListener("change", (event) => this.choose("video", event.target.value));
    $("microphone-select").addEventListener("change", (event) => this.choose("audio", event.target.value));
    $("speaker-test").addEventListener("click", () => this.playTestSound());
    $("speaker-test-sound").addEventListener("ended", () => this.askHeard());
    $("speaker-heard").addEventListener("click", () => this.heardSound(true));
    $("speaker-heard-nothing").addEventListener("click", () => this.heardSound(false));
    $("device-retry").addEventListener("click", () => this.reopen());
    $("mic-level-start").addEventListener("click", () => this.resumeAudio());
    $("device-check-details").addEventListener("toggle", () => this.toggled());
    // Chrome starts an AudioContext only after a tap or a key on the page: the first one starts the meter.
    for (const kind of ["pointerdown", "keydown"]) document.addEventListener(kind, () => this.resumeAudio(), { capture: true });
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener("devicechange", () => this.listDevices());
    }
  }

  // Opens camera and microphone with the chosen devices (getLocalMedia, so with echo
  // cancellation); when both together fail, each alone, so that a broken camera still leaves
  // the microphone. Returns {stream (or null), camera, microphone}. One opening at a time: a
  // second waits for the first, so that no camera stays open unseen.
  open() {
    this.opening = (this.opening || Promise.resolve()).then(() => this.openNow(), () => this.openNow());
    return this.opening;
  }

  async openNow() {
    this.stopStream();
    this.camera = "pending";
    this.microphone = "pending";
    this.render();
    let stream = null;
    let camera = "ok";
    let microphone = "ok";
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      camera = "error";
      microphone = "error";
    } else {
      try {
        stream = await getLocalMedia(this.devices());
      } catch (exc) {
        ({ stream, camera, microphone } = await this.openEach(failureOf(exc)));
      }
    }
    if (this.stopped) {
      if (stream) for (const track of stream.getTracks()) track.stop();
      return { stream: null, camera, microphone };
    }
    this.stream = stream;
    this.camera = camera;
    this.microphone = microphone === "ok" ? "pending" : microphone; // "ok" once the meter has heard it
    this.heard = false;
    this.openedAt = performance.now();
    this.quietSince = null;
    if (stream) for (const track of stream.getTracks()) track.addEventListener("ended", () => this.trackEnded(track));
    this.showPreview();
    await this.listDevices();
    this.startMeter();
    this.render();
    this.maybeReport();
    return { stream, camera, microphone };
  }

  devices() {
    return { audioDeviceId: this.chosen.audio || undefined, videoDeviceId: this.chosen.video || undefined };
  }

  async openEach(failure) {
    const tracks = [];
    const found = {};
    for (const [kind, name] of [["audio", "microphone"], ["video", "camera"]]) {
      // After a refusal, asking again would put up the browser's question twice more: ask only
      // for what the browser already allows.
      if (failure === "denied" && (await permission(name)) !== "granted") {
        found[name] = "denied";
        continue;
      }
      found[name] = await this.openAlone(kind, tracks);
      if (found[name] === "none" && this.chosen[kind]) {
        this.chosen[kind] = null; // the chosen device is gone (unplugged): the browser's default
        found[name] = await this.openAlone(kind, tracks);
      }
    }
    return { stream: tracks.length ? new MediaStream(tracks) : null, camera: found.camera, microphone: found.microphone };
  }

  async openAlone(kind, tracks) {
    try {
      const alone = await navigator.mediaDevices.getUserMedia({ [kind]: mediaConstraints(this.devices())[kind] });
      tracks.push(...alone.getTracks());
      return "ok";
    } catch (exc) {
      return failureOf(exc);
    }
  }

  async choose(kind, deviceId) {
    this.chosen[kind] = deviceId || null;
    await this.reopen();
  }

  trackEnded(track) {
    // A phone ends the camera of a page in the background, and the call reopens it on return.
    if (document.visibilityState === "hidden" || !this.stream || !this.stream.getTracks().includes(track)) return;
    if (track.kind === "video") this.camera = "none";
    else this.microphone = "none";
    this.render();
    this.maybeReport();
  }

  // -- the pickers ----------------------------------------------------------------------------

  async listDevices() {
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      // no list: the pickers say there is nothing to choose
    }
    this.fill($("camera-select"), devices.filter((d) => d.kind === "videoinput"), "Camera", "video", this.camera);
    this.fill($("microphone-select"), devices.filter((d) => d.kind === "audioinput"), "Microphone", "audio", this.microphone);
  }

  fill(select, devices, noun, kind, result) {
    // Before permission a browser lists devices without ids or names: nothing to choose yet.
    const usable = devices.filter((d) => d.deviceId);
    select.replaceChildren(...usable.map((d, i) => el("option", { value: d.deviceId, text: d.label || `${noun} ${i + 1}` })));
    select.disabled = usable.length === 0;
    if (!usable.length) {
      const why = result === "denied" ? `${noun} not allowed` : `No ${noun.toLowerCase()} found`;
      select.append(el("option", { value: "", text: why }));
      return;
    }
    const tracks = this.stream ? (kind === "video" ? this.stream.getVideoTracks() : this.stream.getAudioTracks()) : [];
    const current = (tracks[0] && tracks[0].getSettings().deviceId) || this.chosen[kind];
    select.value = usable.some((d) => d.deviceId === current) ? current : usable[0].deviceId;
  }

  // -- the camera preview -----------------------------------------------------------------------

  showPreview() {
    const preview = $("device-preview");
    const hasVideo = Boolean(this.stream && this.stream.getVideoTracks().length);
    preview.srcObject = hasVideo && !this.collapsed ? this.stream : null;
    $("device-preview-empty").hidden = hasVideo;
  }

  // -- the microphone level -------------------------------------------------------------------

  startMeter() {
    this.stopMeter();
    const track = this.stream && this.stream.getAudioTracks()[0];
    this.showLevel(0);
    if (!track || this.collapsed) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    try {
      if (Context && (!this.audio || this.audio.state === "closed")) this.audio = new Context();
      if (this.audio) {
        this.source = this.audio.createMediaStreamSource(new MediaStream([track]));
        this.analyser = this.audio.createAnalyser();
        this.analyser.fftSize = 1024;
        this.source.connect(this.analyser); // and to nothing else: nothing of the microphone is played
        this.samples = new Float32Array(this.analyser.fftSize);
        this.resumeAudio();
      }
    } catch {
      this.analyser = null; // no meter; the microphone still counts as opened
    }
    this.timer = setInterval(() => this.tick(track), METER_EVERY_MS);
  }

  stopMeter() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.source) this.source.disconnect();
    this.source = null;
    this.analyser = null;
  }

  resumeAudio() {
    if (this.audio && this.audio.state === "suspended") this.audio.resume().catch(() => {});
  }

  measure() {
    if (this.analyser.getFloatTimeDomainData) {
      this.analyser.getFloatTimeDomainData(this.samples);
    } else {
      const bytes = new Uint8Array(this.samples.length); // Safari before 14.1
      this.analyser.getByteTimeDomainData(bytes);
      bytes.forEach((b, i) => { this.samples[i] = (b - 128) / 128; });
    }
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    const decibels = 20 * Math.log10(Math.max(Math.sqrt(sum / this.samples.length), 1e-6));
    return Math.max(0, Math.min(100, Math.round(((decibels + 60) / 60) * 100)));
  }

  tick(track) {
    const listening = Boolean(this.analyser) && this.audio.state === "running";
    const active = track.readyState === "live" && track.enabled && !track.muted;
    const level = listening && active ? this.measure() : 0;
    // A short sound stays visible for a moment.
    this.level = Math.max(level, Math.floor(this.level * 0.7));
    this.showLevel(this.level);
    $("mic-level-start").hidden = !this.analyser || this.audio.state !== "suspended";
    $("mic-muted-hint").hidden = track.enabled || track.readyState !== "live";
    const now = performance.now();
    if (!listening || !active) {
      // The meter cannot listen (the browser waits for a tap, or the patient muted it): the
      // microphone opened, and that is what is said.
      this.quietSince = null;
      if (this.microphone === "pending" && now - this.openedAt >= SILENT_AFTER_MS) this.setMicrophone("ok");
      return;
    }
    if (level >= SOUND_LEVEL) {
      this.heard = true;
      this.quietSince = null;
      if (this.microphone !== "ok") this.setMicrophone("ok");
      return;
    }
    if (this.quietSince === null) this.quietSince = now;
    // Once heard, a quiet patient is not a broken microphone.
    if (!this.heard && now - this.quietSince >= SILENT_AFTER_MS && this.microphone !== "silent") this.setMicrophone("silent");
  }

  showLevel(level) {
    const meter = $("mic-level");
    if (meter.getAttribute("aria-valuenow") !== String(level)) meter.setAttribute("aria-valuenow", String(level));
    meter.firstElementChild.style.width = `${level}%`;
  }

  setMicrophone(result) {
    this.microphone = result;
    this.render();
    this.maybeReport();
  }

  // -- the test sound ---------------------------------------------------------------------------

  async playTestSound() {
    this.resumeAudio();
    const sound = $("speaker-test-sound");
    if (!sound.src) sound.src = URL.createObjectURL(chime());
    $("speaker-question").hidden = true;
    this.speaker = null;
    this.render();
    try {
      sound.currentTime = 0;
      await sound.play();
    } catch {
      this.speaker = "failed";
      this.render();
    }
  }

  askHeard() {
    $("speaker-question").hidden = false;
  }

  heardSound(heard) {
    $("speaker-question").hidden = true;
    this.speaker = heard ? "ok" : "silent";
    this.render();
    if (!heard) $("speaker-help").focus();
  }

  // -- what the patient and the clinician are told ---------------------------------------------

  render() {
    const failed = (result) => !["pending", "ok"].includes(result);
    $("camera-result").textContent = `Camera: ${WORDS[this.camera]}`;
    $("camera-result").dataset.result = this.camera;
    $("microphone-result").textContent = `Microphone: ${WORDS[this.microphone]}`;
    $("microphone-result").dataset.result = this.microphone;
    const speakerWords = { ok: "Sound: working", silent: "Sound: you heard nothing", failed: "Sound: the test sound could not be played" };
    $("speaker-result").textContent = speakerWords[this.speaker] || "";
    $("speaker-result").hidden = !this.speaker;
    const camera = failed(this.camera) ? HELP.camera[this.camera] : "";
    const microphone = failed(this.microphone) ? HELP.microphone[this.microphone] : "";
    const speaker = this.speaker === "silent" || this.speaker === "failed" ? HEARD_NOTHING : "";
    $("camera-help").textContent = camera;
    $("camera-help").hidden = !camera;
    $("microphone-help").textContent = microphone;
    $("microphone-help").hidden = !microphone;
    $("speaker-help").textContent = speaker;
    $("speaker-help").hidden = !speaker;
    $("device-retry").hidden = !(failed(this.camera) || (failed(this.microphone) && this.microphone !== "silent"));
    $("device-help").hidden = !camera && !microphone && !speaker;
    $("device-summary").textContent = this.camera === "pending" ? "" : `Camera ${WORDS[this.camera]}, microphone ${WORDS[this.microphone]}`;
  }

  maybeReport() {
    if (this.camera === "pending" || this.microphone === "pending") return;
    if (this.sent && this.sent.camera === this.camera && this.sent.microphone === this.microphone) return;
    this.sent = { camera: this.camera, microphone: this.microphone };
    this.report({ ...this.sent });
  }

  // -- before and during the session ------------------------------------------------------------

  // The check is for before the session: it folds away when the clinician comes (its summary
  // stays, and opens it again), and stops listening while folded.
  statusChanged(status) {
    if (status === "in_session" && !this.foldedForSession) {
      this.foldedForSession = true;
      $("device-check-details").open = false;
      this.toggled();
    }
  }

  toggled() {
    const collapsed = !$("device-check-details").open;
    if (collapsed === this.collapsed) return;
    this.collapsed = collapsed;
    this.showPreview();
    if (collapsed) {
      this.stopMeter();
      if (this.audio) this.audio.suspend().catch(() => {});
    } else {
      this.startMeter();
    }
  }

  stopStream() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
  }

  stop() {
    this.stopped = true;
    this.stopMeter();
    this.stopStream();
    this.showPreview();
    if (this.audio) this.audio.close().catch(() => {});
    this.audio = null;
    $("speaker-test-sound").pause();
  }
}
