// Shared by the clinician's and the patient's pages: REST calls, the live connection with
// automatic reconnect, toasts and time formatting. Every URL is relative to the page's
// <base>, so the same files work locally and behind API Gateway's stage path.
import { FromServer, ToServer } from "./protocol.js";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `Request failed (${status}).`);
    this.status = status;
    this.code = error.code || "internal";
    this.field = error.field || null;
  }
}

export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(new URL(`api/${path}`, document.baseURI), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { error: { code: "network", message: "No connection to eClinic. Check your internet connection and try again." } });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function webSocketUrl(query) {
  const configured = document.querySelector('meta[name="eclinic-ws-url"]').content;
  let base = configured;
  if (!base) {
    const root = new URL(".", document.baseURI);
    base = `${root.protocol === "https:" ? "wss" : "ws"}://${root.host}${root.pathname}ws`;
  }
  const url = new URL(base);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}

// A websocket that reconnects by itself (1 s, 2 s, 4 s ... at most 15 s apart) and pings every
// 30 s so that the server knows the page is alive. `onState` hears "connecting", "live",
// "reconnecting" and "refused" (the server would not accept us: stop and tell the person).
export class ReconnectingSocket {
  constructor(query, { onMessage, onState, onOpen }) {
    this.query = query;
    this.onMessage = onMessage;
    this.onState = onState || (() => {});
    this.onOpen = onOpen || (() => {});
    this.attempt = 0;
    this.closedByUs = false;
    this.queue = [];
    this.connect();
  }

  connect() {
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    const socket = new WebSocket(webSocketUrl(this.query));
    let opened = false;
    this.socket = socket;
    socket.addEventListener("open", () => {
      opened = true;
      const wasReconnect = this.attempt > 0;
      this.attempt = 0;
      this.onState("live");
      this.pinger = setInterval(() => this.send({ type: ToServer.PING }), 30000);
      for (const message of this.queue.splice(0)) socket.send(JSON.stringify(message));
      this.onOpen(wasReconnect);
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === FromServer.ERROR && message.ref === ToServer.PING) {
        // The server no longer knows this connection (it was swept or pruned): start afresh.
        socket.close();
        return;
      }
      if (message.type !== FromServer.PONG) this.onMessage(message);
    });
    socket.addEventListener("close", () => {
      clearInterval(this.pinger);
      if (this.closedByUs) return;
      if (!opened && this.attempt >= 2) {
        // Refused more than once before ever opening: the credential is no longer accepted.
        this.onState("refused");
        return;
      }
      this.attempt += 1;
      const delay = Math.min(15000, 1000 * 2 ** Math.min(this.attempt - 1, 4));
      this.onState("reconnecting");
      this.retry = setTimeout(() => this.connect(), delay);
    });
  }

  get isOpen() {
    return this.socket && this.socket.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (this.isOpen) this.socket.send(JSON.stringify(message));
    else if (message.type !== ToServer.PING) this.queue.push(message);
  }

  // After "refused", when the caller found its credential still good (a handshake lost on the
  // way, or a limit that lifts): try again later, with the longest back-off.
  resume() {
    this.attempt = 1;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), 15000);
  }

  close() {
    this.closedByUs = true;
    clearTimeout(this.retry);
    clearInterval(this.pinger);
    if (this.socket) this.socket.close();
  }
}

export function toast(text, { error = false, testid = "toast" } = {}) {
  const region = document.getElementById("toasts");
  const item = document.createElement("div");
  item.className = error ? "toast error" : "toast";
  item.dataset.testid = testid;
  item.textContent = text;
  region.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function showBanner(state) {
  const banner = document.getElementById("live-banner");
  const words = {
    connecting: "Connecting…",
    reconnecting: "Connection lost. Reconnecting…",
    refused: "",
    live: "",
  };
  banner.textContent = words[state] || "";
  banner.dataset.state = state;
  banner.classList.toggle("offline", state === "reconnecting");
  banner.hidden = !banner.textContent;
}

export function formatTime(iso, timeZone) {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
}

export function formatDay(iso, timeZone) {
  return new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone }).format(new Date(iso));
}

export function formatDateTime(iso, timeZone) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short", timeZone }).format(new Date(iso));
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "testid") node.dataset.testid = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
