"""The forwarding relay with real aiortc peers: the bytes a browser encoded are the bytes the
other browser receives, no codec runs for them, keyframes reach receivers that start late or
come back, timestamps stay continuous across a reload, loss recovers from a keyframe, and legs
without a shared codec still get video (transcoded, and counted)."""

from __future__ import annotations

import asyncio
import io
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiortc.codecs
import aiortc.rtcrtpreceiver
import av
import pytest
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import is_rtcp
from PIL import Image

from eclinic_protocol import to_worker
from eclinic_protocol.mlines import M_LINES, SCREEN, VIDEO
from media_worker import aiortc_hook
from media_worker.forwarding import decoder_for
from media_worker.frames import EncodedFrame
from media_worker.relay import ForwardingRelay
from media_worker.worker import Worker
from tests.simulated_browser import FakeBrowser
from tests.simulated_media import (
    CLINICIAN_PATTERN,
    PATIENT_PATTERN,
    SCREEN_PATTERN,
    PatternCamera,
    ReplayCamera,
    encoded_clip,
    frame_digest,
    looks_like,
)
from tests.worker.harness import APPOINTMENT, Outbox, join, scenario
from tests.worker.pixels import average_colour

CAMERA = M_LINES.index(VIDEO)  # the m-line of the other participant's camera
SHARE = M_LINES.index(SCREEN)  # the patient's m-line for the clinician's screen share
OTHER_PATTERN = ((200, 120, 20), (20, 120, 200))


def tapped_clinician() -> FakeBrowser:
    return FakeBrowser("clinician", PatternCamera(CLINICIAN_PATTERN), "conn-clinician", tap=True)


def relay_of(worker: Worker) -> ForwardingRelay:
    relay = worker.visits[APPOINTMENT].relay
    assert isinstance(relay, ForwardingRelay)
    return relay


def decoded(frames: list[EncodedFrame]) -> tuple[list[av.VideoFrame], int]:
    """Decodes what a browser received, as its decoder would: (pictures, decode errors)."""
    decoder = decoder_for("video", frames[0])
    pictures, errors = [], 0
    for frame in frames:
        try:
            pictures.extend(decoder.decode(JitterFrame(frame.data, frame.timestamp)))
        except av.FFmpegError:
            errors += 1
    return pictures, errors


def worker_encoders(worker: Worker) -> list[Any]:
    # The sender's encoder is private to aiortc; reading it is how a test can see that
    # forwarding never opened a codec context.
    return [
        transceiver.sender._RTCRtpSender__encoder  # type: ignore[attr-defined]
        for peer in worker.peers
        for transceiver in peer.pc.getTransceivers()
        if transceiver.sender._RTCRtpSender__encoder is not None  # type: ignore[attr-defined]
    ]


def no_codec_context_open(encoder: Any) -> bool:
    context = getattr(encoder, "codec", None)
    return context is None or not context.is_open


def test_the_hook_fits_the_installed_aiortc() -> None:
    aiortc_hook.check_compatible()  # names what moved, if anything did
    assert aiortc.__version__.startswith(aiortc_hook.AIORTC_SERIES + ".")


def test_the_compatibility_check_names_what_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(aiortc.RTCRtpSender, "_handle_rtcp_packet")
    with pytest.raises(aiortc_hook.IncompatibleAiortc, match=r"RTCRtpSender\._handle_rtcp_packet"):
        aiortc_hook.check_compatible()


def test_the_worker_requirements_pin_the_aiortc_series_of_the_hook() -> None:
    from pathlib import Path

    requirements = (Path(__file__).parents[2] / "media_worker" / "requirements.txt").read_text()
    assert f"aiortc=={aiortc_hook.AIORTC_SERIES}.*" in requirements


@pytest.mark.parametrize("codec", ["VP8", "H264"])
def test_encoded_frames_arrive_byte_identical_and_no_codec_runs(
    codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoders: list[Any] = []
    real_get_decoder = aiortc.codecs.get_decoder  # the function rtcrtpreceiver imported

    def counted_get_decoder(codec: Any) -> Any:
        decoders.append(codec)
        return real_get_decoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", counted_get_decoder)
    patient_clip = encoded_clip(codec, PATIENT_PATTERN)
    clinician_clip = encoded_clip(codec, CLINICIAN_PATTERN)

    def browser(role: str, clip: tuple[bytes, ...]) -> FakeBrowser:
        return FakeBrowser(role, ReplayCamera(clip), f"conn-{role}", video_codecs=(codec,), tap=True)

    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        for receiver, clip in ((clinician, patient_clip), (patient, clinician_clip)):
            frames = await receiver.tapped_frames(CAMERA, 45)
            assert {f.codec for f in frames} == {codec}
            sent = [frame_digest(codec, data) for data in clip]
            got = [frame_digest(codec, f.data) for f in frames]
            assert frames[0].keyframe and got[0] == sent[0]  # from the keyframe on...
            assert got == [sent[i % len(sent)] for i in range(len(got))]  # ...every frame, as encoded
        audio = await clinician.tapped_frames(0, 20)
        assert {f.codec for f in audio} == {"opus"}
        encoders = worker_encoders(worker)
        assert len(encoders) == 4  # two legs, audio and camera each
        assert all(no_codec_context_open(e) for e in encoders)
        assert decoders == []  # not the worker's receivers, and not the tapped browsers either
        assert relay_of(worker).transcoded_streams == 0

    scenario(
        body,
        patient=lambda: browser("patient", patient_clip),
        clinician=lambda: browser("clinician", clinician_clip),
    )


def test_a_late_receiver_starts_on_a_keyframe_and_a_pli_reaches_the_source() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        source = relay_of(worker).source(("patient", "video"))
        await asyncio.sleep(2.0)  # the patient's camera has been sending for a while
        assert len(source.kept) > 30  # frames arrived, and no receiver asked for a keyframe
        requested = source.keyframes_requested
        await join(worker, outbox, clinician)
        frames = await clinician.tapped_frames(CAMERA, 10)
        assert frames[0].keyframe  # aiortc's encoder made it on the worker's request
        assert source.keyframes_requested > requested
        pictures, errors = decoded(frames)
        assert errors == 0 and looks_like(pictures[0], PATIENT_PATTERN)

        await asyncio.sleep(0.5)  # past the keyframe request interval
        before = sum(f.keyframe for f in clinician.tapped[CAMERA])
        assert clinician.taps[CAMERA].request_keyframe()  # the receiving browser sends a PLI
        await asyncio.sleep(1.0)
        assert sum(f.keyframe for f in clinician.tapped[CAMERA]) > before

    scenario(body, clinician=tapped_clinician, joining=("patient",))


def test_a_patient_reload_continues_the_clinicians_stream() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        await clinician.tapped_frames(CAMERA, 15)
        ssrc_before = clinician.pc.getTransceivers()[CAMERA].receiver.getSynchronizationSources()
        await patient.close()
        reloaded = FakeBrowser("patient", PatternCamera(OTHER_PATTERN), "conn-patient-2")
        try:
            await join(worker, outbox, reloaded)
            count = len(clinician.tapped[CAMERA])
            frames = await clinician.tapped_frames(CAMERA, count + 15)
            ssrc_after = clinician.pc.getTransceivers()[CAMERA].receiver.getSynchronizationSources()
            assert {s.source for s in ssrc_after} <= {s.source for s in ssrc_before}  # one stream
            stamps = [f.timestamp for f in frames]
            assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
            assert not any(f.after_loss for f in frames[1:])  # sequence numbers went on too
            pictures, errors = decoded(frames)
            assert errors == 0
            assert looks_like(pictures[0], PATIENT_PATTERN) and looks_like(pictures[-1], OTHER_PATTERN)
        finally:
            await reloaded.close()

    scenario(
        body,
        clinician=tapped_clinician,
    )


def test_screen_share_on_off_and_on_again_reaches_the_patient() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        first = clinician.pc.addTransceiver(
            PatternCamera(SCREEN_PATTERN, width=1280, height=720, fps=10), direction="sendonly"
        )
        await join(worker, outbox, clinician)
        assert looks_like(await patient.sees(SHARE, SCREEN_PATTERN, tries=40), SCREEN_PATTERN)

        first.sender.replaceTrack(None)  # "Stop sharing", as the page does
        first.direction = "inactive"
        await join(worker, outbox, clinician)
        await asyncio.sleep(0.5)

        # Sharing again takes up the same m-line (eclinic_protocol.mlines: never removed).
        first.sender.replaceTrack(PatternCamera(OTHER_PATTERN, width=1280, height=720, fps=10))
        first.direction = "sendonly"
        await join(worker, outbox, clinician)
        assert looks_like(await patient.sees(SHARE, OTHER_PATTERN, tries=60), OTHER_PATTERN)
        assert looks_like(await patient.sees(CAMERA, CLINICIAN_PATTERN), CLINICIAN_PATTERN)

    scenario(body)


def test_loss_on_the_source_leg_recovers_from_a_keyframe() -> None:
    lossy = {"on": False}

    def patient() -> FakeBrowser:
        browser = FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-patient")
        camera = browser.pc.getTransceivers()[CAMERA].sender
        transport = camera.transport
        send = transport._send_rtp
        rng = random.Random(7)

        async def send_lossy(data: bytes) -> None:
            # On the wire, before SRTP: a tenth of the camera's packets, and every resend of
            # them (RTX), are lost, so the worker must give those frames up.
            if lossy["on"] and not is_rtcp(data):
                ssrc = int.from_bytes(data[8:12], "big")
                if ssrc == camera._rtx_ssrc or (ssrc == camera._ssrc and rng.random() < 0.1):
                    return
            await send(data)

        transport._send_rtp = send_lossy  # type: ignore[method-assign]  # the lossy wire is the test
        return browser

    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        await clinician.tapped_frames(CAMERA, 15)
        source = relay_of(worker).source(("patient", "video"))
        assert source.tap is not None
        requested, dropped = source.keyframes_requested, source.tap.frames_dropped
        lossy["on"] = True
        await asyncio.sleep(3)
        lossy["on"] = False
        recovered_by = time.monotonic() + 2
        await asyncio.sleep(3)
        frames = list(clinician.tapped[CAMERA])
        pictures, errors = decoded(frames)
        assert errors == 0  # nothing undecodable was forwarded, during the loss or after
        assert source.tap.frames_dropped > dropped and source.keyframes_requested > requested
        late = [f for f in frames if f.arrived_at > recovered_by]
        assert len(late) > 20  # the picture is moving again
        assert looks_like(pictures[-1], PATIENT_PATTERN)

    scenario(
        body,
        patient=patient,
        clinician=tapped_clinician,
    )


@pytest.mark.parametrize("first", ["patient", "clinician"])
def test_a_safari_like_peer_with_h264_only_shares_h264_with_the_other(first: str) -> None:
    """iOS Safari may offer H264 alone; the other browser offers VP8 and H264. Whoever joins
    first, both legs end up on H264 and nothing is transcoded."""

    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        visit = worker.visits[APPOINTMENT]
        if first == "clinician":  # its leg took VP8 before the patient came: it must offer again
            assert (await outbox.next("renegotiate"))["seat"] == "clinician"
            await clinician.close()
            clinician = FakeBrowser(
                "clinician", PatternCamera(CLINICIAN_PATTERN), "conn-clinician", peer_id="p2"
            )
            await join(worker, outbox, clinician)
        try:
            assert looks_like(await clinician.sees(CAMERA, PATIENT_PATTERN), PATIENT_PATTERN)
            assert looks_like(await patient.sees(CAMERA, CLINICIAN_PATTERN), CLINICIAN_PATTERN)
            assert visit.leg_codecs == {"patient": "H264", "clinician": "H264"}
            transcoded = relay_of(worker).transcoded_streams
            await asyncio.sleep(1)
            assert relay_of(worker).transcoded_streams == transcoded  # forwarding from here on
            if first == "patient":
                assert transcoded == 0
        finally:
            await clinician.close()

    scenario(
        body,
        patient=lambda: FakeBrowser(
            "patient", PatternCamera(PATIENT_PATTERN), "conn-patient", video_codecs=("H264",)
        ),
        joining=("patient", "clinician") if first == "patient" else ("clinician", "patient"),
    )


def test_legs_without_a_shared_codec_still_get_video_transcoded_and_counted() -> None:
    def patient() -> FakeBrowser:
        return FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-patient", video_codecs=("H264",))

    def clinician() -> FakeBrowser:
        return FakeBrowser(
            "clinician", PatternCamera(CLINICIAN_PATTERN), "conn-clinician", video_codecs=("VP8",)
        )

    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        assert looks_like(await clinician.sees(CAMERA, PATIENT_PATTERN), PATIENT_PATTERN)
        assert looks_like(await patient.sees(CAMERA, CLINICIAN_PATTERN), CLINICIAN_PATTERN)
        assert worker.visits[APPOINTMENT].leg_codecs == {"patient": "H264", "clinician": "VP8"}
        assert relay_of(worker).transcoded_streams == 2  # one stream each way, audio forwarded

    scenario(body, patient=patient, clinician=clinician)


def test_a_screenshot_without_a_kept_keyframe_asks_for_one_and_has_the_cameras_size() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        await clinician.frame_on(CAMERA)
        source = relay_of(worker).source(("patient", "video"))
        await asyncio.sleep(0.5)
        source.kept, requested = [], source.keyframes_requested  # as after 5 s without a keyframe
        source.keyframe_kept.clear()
        soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
        await worker.on_message(
            to_worker.Capture(
                appointment_id=APPOINTMENT, request_id="r1", key="k.jpg", not_after=soon
            ).to_json()
        )
        captured = await outbox.next("captured")
        assert (captured["width"], captured["height"]) == (320, 240)
        assert source.keyframes_requested > requested
        image = Image.open(io.BytesIO(store.images["k.jpg"]))
        assert image.size == (320, 240)
        left = average_colour(image, (0, 0, 140, 240))
        assert all(abs(a - b) < 30 for a, b in zip(left, PATIENT_PATTERN[0], strict=True))

    scenario(
        body, patient=lambda: FakeBrowser("patient", PatternCamera(PATIENT_PATTERN, 320, 240), "conn-patient")
    )


def test_a_receivers_bandwidth_estimate_reaches_the_source() -> None:
    told: list[tuple[float, int]] = []  # the REMBs the patient's camera hears, when
    cap = 10_000  # bit/s, below aiortc's first estimate of a pattern camera's few kbit/s

    def patient() -> FakeBrowser:
        browser = FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-patient")
        sender = browser.pc.getTransceivers()[CAMERA].sender
        aiortc_hook.tap_sender(sender, lambda: None, lambda bitrate: told.append((time.monotonic(), bitrate)))
        return browser

    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        async with asyncio.timeout(15):
            while len(told) < 2:  # the worker's own estimate, about once a second
                await asyncio.sleep(0.05)
        assert all(bitrate > cap for _, bitrate in told)
        capped_at = time.monotonic()
        clinician.taps[CAMERA].cap_bitrate(cap)  # the clinician's line takes no more
        await asyncio.sleep(3)
        after = [bitrate for at, bitrate in told if at > capped_at]
        assert after and all(bitrate <= cap for bitrate in after)
        assert after[0] == cap and told[-1][0] - capped_at > 1  # at once, and it stays

    scenario(body, patient=patient, clinician=tapped_clinician)
