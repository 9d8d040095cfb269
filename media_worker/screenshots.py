"""Screenshots of the patient's camera, only on a valid consent: never a guest's or the
clinician's, however many participants the visit has (the source (patient, video)).

The server sends `capture` only after the patient allowed that one request; the worker checks
again for itself: a request id is used once, and nothing is captured after `not_after`
(the consent's end). The frame is the patient camera's next decoded frame, at its own size.
"""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from av import VideoFrame

from eclinic_protocol.mlines import PATIENT, VIDEO
from media_worker.relay import Relay
from media_worker.storage import ImageStore

FRAME_TIMEOUT_SECONDS = 10.0
REMEMBERED_REQUESTS = 4096
JPEG_QUALITY = 90


class ConsentRefused(Exception):
    """No valid consent for this capture: spent, expired or malformed."""


@dataclass(frozen=True)
class Captured:
    key: str
    width: int
    height: int


class ScreenshotTaker:
    def __init__(self, store: ImageStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._store = store
        self._clock = clock
        self._used: OrderedDict[str, None] = OrderedDict()

    async def capture(self, relay: Relay, request_id: str, key: str, not_after: str) -> Captured:
        deadline = _parse(not_after)
        if request_id in self._used:
            raise ConsentRefused("this consent was already used")
        self._remember(request_id)
        if self._clock() > deadline:
            raise ConsentRefused("the consent has expired")
        frame = await relay.grab_frame((PATIENT, VIDEO), FRAME_TIMEOUT_SECONDS)
        if self._clock() > deadline:
            raise ConsentRefused("the consent expired before a frame arrived")
        jpeg = await asyncio.get_running_loop().run_in_executor(None, encode_jpeg, frame)
        await asyncio.get_running_loop().run_in_executor(None, self._store.put_jpeg, key, jpeg)
        return Captured(key=key, width=frame.width, height=frame.height)

    def _remember(self, request_id: str) -> None:
        self._used[request_id] = None
        while len(self._used) > REMEMBERED_REQUESTS:
            self._used.popitem(last=False)


def encode_jpeg(frame: VideoFrame) -> bytes:
    image = frame.to_image()  # type: ignore[no-untyped-call]
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _parse(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ConsentRefused("no consent deadline") from exc
    if value.tzinfo is None:
        raise ConsentRefused("no consent deadline")
    return value
