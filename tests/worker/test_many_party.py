"""A visit of three and four participants with real aiortc peers: every page receives every
other's camera (the decoded pattern of the seat `m_line_source` names, on each m-line) and
microphone (its tone), a guest joining keeps the running legs untouched, a guest leaving idles
their receivers and rejoining (or reloading) brings them back, screenshots stay of the
patient's camera, and forwarding stays byte-identical on every leg."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import aiortc.codecs
import aiortc.rtcrtpreceiver
import pytest
from PIL import Image

from eclinic_protocol import to_worker
from eclinic_protocol.mlines import CLINICIAN, GUEST_SEATS, PATIENT, VIDEO
from media_worker.forwarding import ForwardingTrack
from media_worker.relay import ForwardingRelay
from media_worker.storage import InMemoryImageStore
from tests.simulated_browser import FakeBrowser
from tests.simulated_media import (
    PATIENT_PATTERN,
    SEAT_PATTERNS,
    ReplayCamera,
    ReplayMicrophone,
    encoded_audio_clip,
    encoded_clip,
    frame_digest,
)
from tests.threads import run_async
from tests.worker.harness import APPOINTMENT, make_worker
from tests.worker.party import (
    Party,
    everyone_sees_and_hears_everyone,
    party_scenario,
    receiving_lines,
    seat_browser,
    shows,
)
from tests.worker.pixels import average_colour

GUEST_1, GUEST_2 = GUEST_SEATS
NEW_PATTERN = ((200, 120, 20), (20, 120, 200))  # a rejoined guest's, to tell them from before


def relay_of(party: Party) -> ForwardingRelay:
    relay = party.worker.visits[APPOINTMENT].relay
    assert isinstance(relay, ForwardingRelay)
    return relay


def sender_tracks(browser_seat: str, party: Party) -> dict[int, Any]:
    """The worker's outgoing track on each m-line of one seat's peer."""
    peer = party.worker.peers.get((APPOINTMENT, browser_seat))
    assert peer is not None
    return {index: t.sender.track for index, t in enumerate(peer.pc.getTransceivers())}


def test_three_participants_each_see_and_hear_the_two_others() -> None:
    async def body(party: Party) -> None:
        await everyone_sees_and_hears_everyone(party)
        assert party.worker.load == 1 and len(party.worker.peers) == 3
        assert relay_of(party).transcoded_streams == 0

    party_scenario(body, (CLINICIAN, PATIENT, GUEST_1))


def test_four_participants_each_see_and_hear_the_three_others() -> None:
    async def body(party: Party) -> None:
        await everyone_sees_and_hears_everyone(party)
        assert len(party.worker.peers) == 4
        guest = party.browsers[GUEST_2]  # guest-2's pairs: the patient's on 3-4, guest-1's on 5-6
        assert receiving_lines(guest, VIDEO) == {1: CLINICIAN, 4: PATIENT, 6: GUEST_1}
        assert relay_of(party).transcoded_streams == 0

    party_scenario(body, (CLINICIAN, PATIENT, GUEST_1, GUEST_2))


def test_a_guest_joining_leaves_the_running_legs_untouched() -> None:
    async def body(party: Party) -> None:
        await everyone_sees_and_hears_everyone(party)
        before = {seat: sender_tracks(seat, party) for seat in party.browsers}
        forwarded = {
            seat: {i: t.frames_forwarded for i, t in tracks.items() if t} for seat, tracks in before.items()
        }
        await party.arrive(seat_browser(GUEST_2))
        await everyone_sees_and_hears_everyone(party)
        for seat, tracks in before.items():
            after = sender_tracks(seat, party)
            for index, track in tracks.items():
                if track is not None:
                    assert after[index] is track  # the same leg, not a new one
                    assert isinstance(track, ForwardingTrack)
                    if forwarded[seat][index]:  # (not the screen share: nobody shares)
                        assert track.frames_forwarded > forwarded[seat][index]

    party_scenario(body, (CLINICIAN, PATIENT, GUEST_1))


def test_a_guest_leaves_and_rejoins_with_a_new_peer() -> None:
    async def body(party: Party) -> None:
        await everyone_sees_and_hears_everyone(party)
        patient = party.browsers[PATIENT]
        stale = to_worker.Leave(appointment_id=APPOINTMENT, seat=GUEST_1, sender="conn-of-a-reloaded-tab")
        await party.worker.on_message(stale.to_json())
        assert party.worker.peers.get((APPOINTMENT, GUEST_1)) is not None  # not that peer's connection

        await party.depart(GUEST_1)  # the real leave: the guest's peer closes, the visit goes on
        assert party.worker.peers.get((APPOINTMENT, GUEST_1)) is None
        assert party.worker.load == 1 and len(party.worker.peers) == 2
        source = relay_of(party).source((GUEST_1, VIDEO))
        assert source.tap is None and not source.tracks  # its receivers idle (their pairs inactive)
        await shows(patient, 1, SEAT_PATTERNS[CLINICIAN])  # the others go on

        await party.arrive(seat_browser(GUEST_1, "conn-guest-1-again", pattern=NEW_PATTERN))
        for browser in (party.browsers[CLINICIAN], patient):
            (index,) = [i for i, seat in receiving_lines(browser, VIDEO).items() if seat == GUEST_1]
            await shows(browser, index, NEW_PATTERN)
        guest = party.browsers[GUEST_1]
        await shows(guest, 1, SEAT_PATTERNS[CLINICIAN])
        await shows(guest, 4, SEAT_PATTERNS[PATIENT])

    party_scenario(body, (CLINICIAN, PATIENT, GUEST_1))


def test_a_guests_reload_replaces_their_peer_and_the_others_keep_receiving() -> None:
    async def body(party: Party) -> None:
        await everyone_sees_and_hears_everyone(party)
        old = party.browsers[GUEST_1]
        reloaded = seat_browser(GUEST_1, "conn-guest-1-reloaded", peer_id="p2", pattern=NEW_PATTERN)
        reloaded.seats_taken(CLINICIAN, PATIENT)
        await party.worker.on_message(await reloaded.offer_message(APPOINTMENT))
        await reloaded.accept(await party.outbox.next("answer"))
        await old.close()
        party.gone.append(old)
        party.browsers[GUEST_1] = reloaded
        assert len(party.worker.peers) == 3
        # The others did not offer again: their legs for guest-1 carry the new peer's camera.
        await shows(party.browsers[CLINICIAN], 4, NEW_PATTERN)
        await shows(party.browsers[PATIENT], 4, NEW_PATTERN)
        await shows(reloaded, 1, SEAT_PATTERNS[CLINICIAN])

    party_scenario(body, (CLINICIAN, PATIENT, GUEST_1))


def test_the_last_peer_leaving_ends_the_visit() -> None:
    async def body(party: Party) -> None:
        for seat in (GUEST_1, PATIENT, CLINICIAN):
            assert APPOINTMENT in party.worker.visits
            await party.depart(seat)
        assert not party.worker.visits and len(party.worker.peers) == 0

    party_scenario(body, (CLINICIAN, PATIENT, GUEST_1))


def test_a_screenshot_is_of_the_patients_camera_with_guests_in_the_visit() -> None:
    async def body(party: Party) -> None:
        await shows(party.browsers[CLINICIAN], 1, PATIENT_PATTERN)
        soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
        capture = to_worker.Capture(appointment_id=APPOINTMENT, request_id="r1", key="k.jpg", not_after=soon)
        await party.worker.on_message(capture.to_json())
        await party.outbox.next("captured")
        image = Image.open(io.BytesIO(party.store.images["k.jpg"]))
        left = average_colour(image, (0, 0, 140, 240))
        assert all(abs(a - b) < 30 for a, b in zip(left, PATIENT_PATTERN[0], strict=True))

    party_scenario(body, (CLINICIAN, GUEST_1, PATIENT))


def test_three_party_forwarding_is_byte_identical_on_every_leg(monkeypatch: pytest.MonkeyPatch) -> None:
    decoders: list[Any] = []
    real_get_decoder = aiortc.codecs.get_decoder

    def counted_get_decoder(codec: Any) -> Any:
        decoders.append(codec)
        return real_get_decoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", counted_get_decoder)
    clips = {seat: encoded_clip("VP8", SEAT_PATTERNS[seat]) for seat in (CLINICIAN, PATIENT, GUEST_1)}

    def browser(seat: str) -> FakeBrowser:
        camera, microphone = ReplayCamera(clips[seat]), ReplayMicrophone(encoded_audio_clip())
        return FakeBrowser(
            seat, camera, f"conn-{seat}", microphone=microphone, video_codecs=("VP8",), tap=True
        )

    async def run() -> None:
        store = InMemoryImageStore()
        worker, outbox = make_worker(store)
        party = Party(worker, outbox, store)
        try:
            for seat in clips:
                await party.arrive(browser(seat))
            for receiver in party.browsers.values():
                for index, source in receiving_lines(receiver, VIDEO).items():
                    frames = await receiver.tapped_frames(index, 45, timeout=20)
                    sent = [frame_digest("VP8", data) for data in clips[source]]
                    got = [frame_digest("VP8", f.data) for f in frames]
                    assert frames[0].keyframe and got[0] == sent[0], (receiver.seat, index)
                    assert got == [sent[i % len(sent)] for i in range(len(got))], (receiver.seat, index)
            encoders = [
                t.sender._RTCRtpSender__encoder  # type: ignore[attr-defined]  # private: see test_forwarding
                for peer in worker.peers
                for t in peer.pc.getTransceivers()
                if t.sender._RTCRtpSender__encoder is not None  # type: ignore[attr-defined]
            ]
            assert len(encoders) == 12  # three legs, each receiving two cameras and two microphones
            assert all(getattr(e, "codec", None) is None or not e.codec.is_open for e in encoders)
            assert decoders == [] and relay_of(party).transcoded_streams == 0
        finally:
            await party.close()

    run_async(run, timeout=180)


@pytest.mark.parametrize("safari", [GUEST_1, CLINICIAN])
def test_an_h264_only_participant_brings_every_leg_to_h264(safari: str) -> None:
    """A Safari-like browser (H264 alone) in a visit of Chromes (VP8 and H264): the pages that
    answered VP8 before it came are asked to offer again, and then nothing is transcoded."""

    async def run() -> None:
        store = InMemoryImageStore()
        worker, outbox = make_worker(store)
        party = Party(worker, outbox, store)
        try:
            for seat in (CLINICIAN, PATIENT, GUEST_1):
                browser = seat_browser(seat)
                if seat == safari:
                    browser.video_codecs = ("H264",)
                await party.arrive(browser)
            asked = {m["seat"] for m in outbox.messages if m.get("type") == "renegotiate"}
            seats = (CLINICIAN, PATIENT, GUEST_1)
            assert asked == set(seats[: seats.index(safari)])  # those that answered before it came
            for seat in sorted(asked):  # each asked page makes a new peer connection and offers
                old = party.browsers.pop(seat)
                await old.close()
                party.gone.append(old)
                again = seat_browser(seat, f"conn-{seat}-again", peer_id="p2")
                await party.arrive(again)
            visit = worker.visits[APPOINTMENT]
            assert visit.leg_codecs == dict.fromkeys((CLINICIAN, PATIENT, GUEST_1), "H264")
            await everyone_sees_and_hears_everyone(party)
            transcoded = relay_of(party).transcoded_streams
            await asyncio.sleep(1)
            assert relay_of(party).transcoded_streams == transcoded  # forwarding from here on
        finally:
            await party.close()

    run_async(run, timeout=180)
