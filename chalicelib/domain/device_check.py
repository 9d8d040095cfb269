"""What the patient's device check in the waiting room found, for the clinician's row.

The patient's page tries its camera and microphone before the session (and listens for a
while to the microphone) and sends `device_check`; the last result stays on the appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DeviceCheck:
    camera: str  # one of the protocol's CAMERA_RESULTS (`device_check`)
    microphone: str  # one of its MICROPHONE_RESULTS
    at: datetime  # when the server received this result

    def same_result(self, camera: str, microphone: str) -> bool:
        return (self.camera, self.microphone) == (camera, microphone)
