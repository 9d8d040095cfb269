// The schedule's arrival alert (API.md's `alerts-toggle`): when a patient of one's groups comes
// online, a short chime, a desktop notification where the browser allows it (also while the
// page is in front), and the count of waiting patients in the tab title, "(2) Clinic Schedule".
//
// - The chime is two short tones from an OscillatorNode into an AudioContext of its own: it never
//   touches a call's audio (remote audio plays through its <video>, the microphone goes to the
//   peer connection), so echo cancellation is not disturbed. In a session the page plays
//   nothing and shows no desktop notification: the session view shows the arrival quietly.
// - Notification permission is asked only when the clinician turns the alert on with the
//   toggle, never on page load; a notification is made only when permission is "granted". It
//   names no patient (it may show on a locked screen or a shared one), only the time.
// - The choice is remembered in this browser (localStorage); the alert is on until turned off.
const STORAGE_KEY = "eclinic.arrivalAlerts";

export class ArrivalAlerts {
  constructor({ button, hint, inSession, onQuietArrival, onOpen }) {
    this.button = button;
    this.hint = hint;
    this.inSession = inSession;
    this.onQuietArrival = onQuietArrival;
    this.onOpen = onOpen;
    this.baseTitle = document.title;
    this.waiting = 0;
    this.audio = null;
    button.addEventListener("click", () => this.toggle());
    // Browsers start Web Audio only after a tap or a key on the page: the first one unlocks it.
    const unlock = () => { if (this.on) this.unlockAudio(); };
    document.addEventListener("pointerdown", unlock, { capture: true });
    document.addEventListener("keydown", unlock, { capture: true });
    this.render();
  }

  get on() {
    try {
      return localStorage.getItem(STORAGE_KEY) !== "off";
    } catch {
      return this.unstored ?? true; // no storage (a locked-down browser): as long as the page lasts
    }
  }

  remember(on) {
    this.unstored = on;
    try {
      localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
    } catch {
      // kept in `unstored` instead
    }
  }

  async toggle() {
    const turningOn = !this.on;
    this.remember(turningOn);
    this.render();
    if (!turningOn) return;
    this.unlockAudio();
    if ("Notification" in window && Notification.permission === "default") {
      try {
        await Notification.requestPermission();
      } catch {
        // an old browser without the promise form: nothing is asked
      }
      this.render();
    }
  }

  permission() {
    return "Notification" in window ? Notification.permission : "unsupported";
  }

  render() {
    const on = this.on;
    this.button.setAttribute("aria-pressed", String(on));
    const words = {
      granted: "On: a sound and a desktop notification when a patient arrives.",
      default: "On: a sound when a patient arrives. For desktop notifications too, turn the alert off and on again and allow them.",
      denied: "On: a sound when a patient arrives. This browser blocks notifications from eClinic; allow them in the site settings to get them too.",
      unsupported: "On: a sound when a patient arrives (this browser shows no desktop notifications).",
    };
    this.hint.textContent = on ? words[this.permission()] : "Off: no sound, notification or count in the tab title when a patient arrives.";
    this.showTitle();
  }

  // The number of waiting patients in the clinician's schedule, for the tab title.
  setWaiting(count) {
    this.waiting = count;
    this.showTitle();
  }

  showTitle() {
    document.title = this.on && this.waiting > 0 ? `(${this.waiting}) ${this.baseTitle}` : this.baseTitle;
  }

  // A patient of one's groups came online (not a patient back from "exit without ending").
  arrived(appointment, when) {
    if (this.inSession()) {
      this.onQuietArrival(appointment);
      return;
    }
    if (!this.on) return;
    this.chime();
    this.notify(appointment, when);
  }

  unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!this.audio) this.audio = new Context();
    if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
    return this.audio;
  }

  chime() {
    const context = this.unlockAudio();
    if (!context) return;
    const start = context.currentTime + 0.02;
    [880, 660].forEach((frequency, index) => {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      const at = start + index * 0.18;
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.3);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.32);
    });
  }

  notify(appointment, when) {
    if (this.permission() !== "granted") return;
    try {
      const notification = new Notification("A patient is waiting", {
        body: `Your ${when} appointment is in the waiting room.`,
        tag: `eclinic-arrival-${appointment.id}`,
        // Our own chime has sounded when Web Audio runs; else let the system sound instead.
        silent: Boolean(this.audio && this.audio.state === "running"),
      });
      notification.addEventListener("click", () => {
        window.focus();
        notification.close();
        this.onOpen(appointment.id);
      });
    } catch {
      // Chrome on Android makes notifications only from a service worker: the chime and the
      // title still tell.
    }
  }
}
