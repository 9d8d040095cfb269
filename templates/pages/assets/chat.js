// The chat of both pages: a message's line, the log that shows each message once (the history
// and the live pushes overlap), and the form that sends one.
import { el, formatTime } from "./common.js";

export function chatLine(message) {
  const when = formatTime(message.at);
  return el("li", { "data-message-id": message.id },
    el("span", { class: "from", text: `${message.name} (${when}): ` }),
    el("span", { class: "text", text: message.text }));
}

export class ChatLog {
  constructor(list) {
    this.list = list;
    this.ids = new Set();
  }

  add(message) {
    if (this.ids.has(message.id)) return;
    this.ids.add(message.id);
    this.list.append(chatLine(message));
    this.list.scrollTop = this.list.scrollHeight;
  }

  clear() {
    this.list.replaceChildren();
    this.ids.clear();
  }
}

// `send(text)` sends the message, or returns false when there is nowhere to send it yet (the
// text then stays in the input).
export function wireChatForm(form, input, send) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim() || send(text) === false) return;
    input.value = "";
  });
}
