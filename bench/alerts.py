"""Issue 11's arrival alert latency on the local run: a patient connects -> the clinician's
schedule page constructs its desktop Notification.

The clinician's page is the product's own schedule in Debian's Chromium (notifications allowed
on the context, as a clinician who allowed them has), logged in as Ada. An init script wraps
`window.Notification` and the page's WebSocket and records, on the page's clock
(`performance.timeOrigin + performance.now()`, milliseconds since the epoch), when the
`appointment` push that moves the patient to `waiting` arrives and when the Notification is
constructed. The patient is a plain websocket client with the link's token, as bench/live.py's
presence figure connects one: the clock starts just before its connect, on this process's
wall clock, which is the same machine's as the page's. Each arrival is a different appointment
(a link may connect 30 times in 10 minutes); the patient leaves and its row goes back to
`scheduled` before the next one. One arrival warms up first and is left out.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from websockets.sync.client import connect

from bench.stack import invite_many, launch_chromium, local_run, log_in_to_schedule, percentile

PROBE = """
(() => {
  const at = () => performance.timeOrigin + performance.now();
  const bench = (window.__alerts = { notifications: {}, pushes: {} });
  const Native = window.Notification;
  class Recorded extends Native {
    constructor(title, options = {}) {
      super(title, options);
      const tag = options.tag || "";
      if (!(tag in bench.notifications)) bench.notifications[tag] = at();
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Native.permission });
  Recorded.requestPermission = (...args) => Native.requestPermission(...args);
  window.Notification = Recorded;
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch { return; }
        if (message.type === "appointment" && message.appointment.status === "waiting") {
          const id = message.appointment.id;
          if (!(id in bench.pushes)) bench.pushes[id] = at();
        }
      });
    }
  };
})();
"""


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "max_ms": round(max(values), 1),
    }


def arrival_latency(base: str, arrivals: int) -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    ws_base = base.replace("http://", "ws://") + "/ws"
    notified: list[float] = []
    pushed: list[float] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        clinic = browser.new_context(viewport={"width": 1280, "height": 860}, permissions=["notifications"])
        clinic.set_default_timeout(30_000)
        clinic.add_init_script(PROBE)
        ada = clinic.new_page()
        log_in_to_schedule(ada, base)
        token = ada.evaluate("sessionStorage.getItem('eclinic.token')")
        appointments = invite_many(base, token, arrivals + 1, "alerts")
        for index, (appointment_id, link) in enumerate(appointments):
            row = ada.locator(f'[data-testid="appointment-row"][data-appointment-id="{appointment_id}"]')
            expect(row).to_have_attribute("data-status", "scheduled", timeout=30_000)
            started = time.time() * 1000
            patient = connect(f"{ws_base}?token={link}", open_timeout=30)
            try:
                ada.wait_for_function(
                    "tag => tag in window.__alerts.notifications", arg=f"eclinic-arrival-{appointment_id}"
                )
                probe = ada.evaluate("window.__alerts")
            finally:
                patient.close()
            expect(row).to_have_attribute("data-status", "scheduled", timeout=30_000)
            if index == 0:
                continue  # warm-up
            notified.append(probe["notifications"][f"eclinic-arrival-{appointment_id}"] - started)
            pushed.append(probe["pushes"][appointment_id] - started)
        browser.close()
    in_page = [n - p for n, p in zip(notified, pushed, strict=True)]
    return {
        "arrivals": len(notified),
        "patient_connects_to_notification": _summary(notified),
        "patient_connects_to_push_in_page": _summary(pushed),
        "push_to_notification_in_page": _summary(in_page),
    }


def run(arrivals: int) -> dict[str, Any]:
    with local_run() as base:
        return {"arrival_alert": arrival_latency(base, arrivals)}
