"""What the patient's device check in the waiting room found, for the clinician's row.

The patient's page tries its camera and microphone before the session (and listens for a
while to the microphone) and sends `device_check`; the last result stays on the appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# ok: works; none: no such device found; in_use: another program holds it; denied: the browser
# (or the person) refused it; error: anything else. The microphone may also be `silent`: it
# opened, but the page heard nothing from it for several seconds.
CAMERA_RESULTS = ("ok", "none", "in_use", "denied", "error")
MICROPHONE_RESULTS = (*CAMERA_RESULTS, "silent")


@dataclass(frozen=True)
class DeviceCheck:
    camera: str  # one of CAMERA_RESULTS
    microphone: str  # one of MICROPHONE_RESULTS
    at: datetime  # when the server received this result

    def same_result(self, camera: str, microphone: str) -> bool:
        return (self.camera, self.microphone) == (camera, microphone)
