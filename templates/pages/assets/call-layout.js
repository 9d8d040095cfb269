// Which m-lines a page offers, and with which direction, for the seats taken in the call: the
// rule of eclinic_protocol.mlines applied to one page. A page of `seat` offers its own audio and
// camera (m-lines 0-1, the first other seat's media in), the screen m-line 2, and for each
// further other seat that is taken an audio+video pair `recvonly` (with every pair before it;
// a pair whose seat is empty is `inactive`). An m-line is never removed. Pure: no DOM, no state.
import { M_LINE, M_LINE_SOURCES, M_LINES, PAGE_DIRECTIONS, mLineSlot } from "./protocol.js";

const FIRST_PAIR = M_LINES.length;

// [{ kind: "audio" | "video", slot, source, direction }] in m-line order. `taken`: the other
// seats present (a Set); `sharing`: the clinician shares the screen; `existing`: how many
// m-lines the page's connection holds already (never fewer).
export function pageMLines(seat, taken, { sharing = false, existing = 0 } = {}) {
  const sources = M_LINE_SOURCES[seat];
  const directions = PAGE_DIRECTIONS[seat];
  if (!sources || !directions) throw new Error(`no m-line layout for seat ${seat}`);
  const sendsScreen = directions[M_LINE.SCREEN] === "sendonly";
  // Two m-lines for a clinician who does not share (as in a call of two), else three.
  let count = sendsScreen && !sharing ? M_LINE.SCREEN : FIRST_PAIR;
  sources.forEach((source, index) => {
    if (index >= FIRST_PAIR && taken.has(source)) count = Math.max(count, index + 2 - ((index - FIRST_PAIR) % 2));
  });
  count = Math.min(Math.max(count, existing), sources.length);
  const lines = [];
  for (let index = 0; index < count; index += 1) {
    const slot = mLineSlot(index);
    let direction;
    if (index < M_LINE.SCREEN) direction = directions[index];
    else if (index === M_LINE.SCREEN) direction = sendsScreen && !sharing ? "inactive" : directions[index];
    else direction = taken.has(sources[index]) ? "recvonly" : "inactive";
    lines.push({ kind: slot === "audio" ? "audio" : "video", slot, source: sources[index], direction });
  }
  return lines;
}
