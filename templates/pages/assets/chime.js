// The device check's test sound.

// A short two-note chime as a WAV file (16-bit mono PCM), made here: no file to fetch, and a
// blob: URL is what the page's Content-Security-Policy allows for media.
export function chime() {
  const rate = 22050;
  const notes = [[659.25, 0.22], [987.77, 0.38]];
  const total = Math.round(notes.reduce((sum, [, seconds]) => sum + seconds, 0) * rate);
  const view = new DataView(new ArrayBuffer(44 + total * 2));
  const text = (offset, value) => { for (let i = 0; i < value.length; i += 1) view.setUint8(offset + i, value.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + total * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, total * 2, true);
  let at = 0;
  for (const [frequency, seconds] of notes) {
    const length = Math.round(seconds * rate);
    for (let i = 0; i < length; i += 1) {
      const envelope = Math.min(1, i / (0.01 * rate)) * Math.exp((-3 * i) / length);
      view.setInt16(44 + (at + i) * 2, Math.round(Math.sin((2 * Math.PI * frequency * i) / rate) * envelope * 0.4 * 32767), true);
    }
    at += length;
  }
  return new Blob([view], { type: "audio/wav" });
}
