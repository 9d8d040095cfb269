"""Call setup and worker cost, direct and relayed through TURN (coturn, started here).

Three paths, each on a local run of its own with the TURN settings of API.md:

- `direct`: no TURN at all (`ECLINIC_TURN_URLS` unset), ICE policy `all`;
- `relay_udp`: `ECLINIC_ICE_TRANSPORT_POLICY=relay` and one URL, `turn:...?transport=udp`;
- `relay_tcp`: `relay` and one URL, `turn:...?transport=tcp` (TURN over TCP to coturn).

coturn runs as tests/browser/test_turn.py runs it: `local/coturn.conf`, `use-auth-secret` with a
secret made here, a free port, relaying from the machine's own address, its log in a temp dir.
The media worker uses no TURN itself: with `relay`, each browser's relayed candidate pairs
with the worker's host candidate, so "relayed" means both legs of the visit go through coturn.

Call setup in Chromium on the product's pages is bench/call_setup.py's.

Worker CPU is measured with aiortc peers as bench/media.py's cost figures are
(tests/simulated_browser.py: replayed, pre-encoded media, frames counted before any decoder):
Chromium encoding and decoding two cameras would take the 2-core machine's other core, and the
figure is the worker's own. The peers use the `call` message's `ice_servers` and
`ice_transport_policy` as the pages do: aiortc 1.16 maps `RTCIceTransportPolicy.RELAY` onto
aioice 0.13's `TransportPolicy.RELAY` (relay candidates only, remote mDNS ignored), takes the
first usable TURN URL and passes its `?transport=` as aioice's `turn_transport` (`udp` or `tcp`)
- hence one URL per relayed path. The worker is pinned to a core of its own (as bench/media.py
does), coturn and these peers to the others; the worker's CPU seconds per visit-second come from
/proc, and coturn's beside it. `peers_setup_ms` there is these peers' `call` -> first frame on
both sides, before any decoder (bench/media.py's measure): a check on the relayed paths, not the
call setup figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvloop

from bench import media
from bench.call_setup import chromium_setups, setup_summary
from bench.stack import invite_many, login, started_run
from chalicelib import settings_names as app_settings
from tests.local.conftest import LocalRun
from tests.local.coturn import Turn, coturn
from tests.simulated_media import CLINICIAN_PATTERN, PATIENT_PATTERN, encoded_audio_clip, encoded_clip

PATHS = ("direct", "relay_udp", "relay_tcp")
WINDOWS = 4  # the CPU window, cut in this many


# -- coturn -----------------------------------------------------------------------------------


def settings_for(path: str, turn: Turn) -> dict[str, str]:
    settings = dict(media.WORKER_SETTINGS)
    if path == "direct":
        return settings
    transport = path.removeprefix("relay_")
    return {
        **settings,
        app_settings.TURN_URLS: f"turn:127.0.0.1:{turn.port}?transport={transport}",
        app_settings.TURN_SECRET: turn.secret,
        app_settings.ICE_TRANSPORT_POLICY: "relay",
    }


# -- worker CPU with aiortc peers ------------------------------------------------------------


def worker_of(local: LocalRun) -> int:
    """This local run's media worker (its child `python -m media_worker`), not another run's."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read().split(b"\0")[1:3] != [b"-m", b"media_worker"]:
                    continue
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == local.process.pid:
            return int(entry)
    raise RuntimeError(f"no media worker of the local run at {local.base_url}")


def encode_clips() -> None:
    """The simulated browsers' clips (tests/simulated_media.py caches them): 20-60 s of VP8
    encoding on this machine, done once and before anything is timed, as it holds the event
    loop (an aiortc peer whose loop stalls that long misses its TURN and ICE timers)."""
    for pattern in (PATIENT_PATTERN, CLINICIAN_PATTERN):
        encoded_clip("VP8", pattern, 90)
    encoded_audio_clip()


async def worker_cost(base: str, pid: int, visits: int, seconds: float, turn: Turn) -> dict[str, Any]:
    cores = sorted(media.ALL_CORES)
    if len(cores) >= 2:
        os.sched_setaffinity(pid, {cores[-1]})
        os.sched_setaffinity(0, set(cores[:-1]))
        os.sched_setaffinity(turn.pid, set(cores[:-1]))
    token = login(base, "ben@clinic.example")
    started: list[media.Visit] = []
    setups: list[float] = []
    retries = 0
    try:
        # A visit whose media does not start within 30 s is stopped and another one started
        # (at most 3 times): counted, as it is a finding of its own.
        appointments = iter(invite_many(base, token, visits + 3, f"cpu{time.monotonic_ns()}"))
        while len(started) < visits:
            appointment_id, link = next(appointments)
            visit = media.Visit(base, token, appointment_id, link)
            try:
                setups.append(await visit.start())
            except TimeoutError:
                retries += 1
                await visit.stop()
                if retries > 3:
                    raise
                continue
            started.append(visit)
        candidates = sorted(
            {str(b.local_candidate_type()) for v in started for b in (v.clinician, v.patient)}
        )
        await asyncio.sleep(3)  # let every stream settle
        # The window cut in four, to show the noise within one run. Between local runs the same
        # path differed more: 0.073-0.091 (direct) and 0.068-0.091 (relay_udp) over four each.
        turn0 = media.cpu_seconds(turn.pid)
        windows = [await media.measure(started, pid, seconds / WINDOWS) for _ in range(WINDOWS)]
        turn_cores = (media.cpu_seconds(turn.pid) - turn0) / seconds
        figures = {
            "visits": visits,
            **{
                key: round(statistics.mean(w[key] for w in windows), 4)
                for key in ("worker_cpu_cores", "worker_cpu_per_visit", "browsers_cpu_cores")
            },
            "worker_cpu_per_visit_windows": [w["worker_cpu_per_visit"] for w in windows],
            "lowest_receiver_fps": min(w["lowest_receiver_fps"] for w in windows),
        }
        figures["turn_cpu_cores"] = round(turn_cores, 3)
        figures["turn_cpu_per_visit"] = round(turn_cores / visits, 4)
        figures["peers_local_candidates"] = candidates
        figures["peers_setup_ms"] = {
            "p50": round(statistics.median(setups) * 1000),
            "max": round(max(setups) * 1000),
        }
        figures["visits_restarted"] = retries
        return figures
    finally:
        for visit in started:
            await visit.stop()
        media.unpin()
        os.sched_setaffinity(turn.pid, media.ALL_CORES)


# -- the part ---------------------------------------------------------------------------------


@contextlib.contextmanager
def path_run(path: str, turn: Turn, tmp: Path) -> Iterator[LocalRun]:
    """The benchmarks' local run (bench.stack.started_run) with this path's settings; coturn's
    log goes to stderr too if anything fails."""
    try:
        with started_run({**settings_for(path, turn), app_settings.LOG_LEVEL: "WARNING"}, tmp) as run:
            yield run
    except BaseException:
        print("-- coturn log --", file=sys.stderr)
        print(turn.log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise


def run(setup_calls: int, cpu_visits: int, cpu_seconds: float) -> dict[str, Any]:
    setup: dict[str, Any] = {}
    cost: dict[str, Any] = {}
    started = time.monotonic()
    clips = threading.Thread(target=encode_clips, daemon=True)
    clips.start()  # beside coturn's and the first local run's start, never beside a timed call
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp, coturn(Path(tmp)) as turn:
        for path in PATHS:
            media.unpin()
            with path_run(path, turn, Path(tmp)) as local:
                clips.join()
                calls = chromium_setups(local.base_url, path, setup_calls)
                if not calls["samples"]:
                    raise RuntimeError(f"{path}: no call got its first frames: {calls['failed']}")
                setup[path] = {
                    **setup_summary(calls["samples"]),
                    "selected_pairs": calls["selected_pairs"],
                    "failed_calls": calls["failed"],
                }
                if calls["unexpected_pairs"]:
                    setup[path]["unexpected_pairs"] = calls["unexpected_pairs"]
                pid = worker_of(local)
                cost[path] = uvloop.run(worker_cost(local.base_url, pid, cpu_visits, cpu_seconds, turn))
            print(f"calls: {path} done after {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        allocations = turn.allocations()
    direct = cost["direct"]["worker_cpu_per_visit"]
    return {
        "call_setup": setup,
        "call_setup_measured": "Chromium on the product's pages: from the clinician page sending "
        "`call` to each side's first decoded remote frame (requestVideoFrameCallback), ms",
        "worker_cpu_per_visit": cost,
        "worker_cpu_measured": f"aiortc peers as bench/media.py's, {cpu_visits} visits at once, "
        f"{cpu_seconds:g} s in {WINDOWS} windows; worker pinned to a core of its own; worker CPU "
        "seconds per visit-second",
        "relayed_to_direct_worker_cpu": {
            path: round(cost[path]["worker_cpu_per_visit"] / max(direct, 1e-6), 2) for path in PATHS[1:]
        },
        "turn_allocations": allocations,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "seconds": round(time.monotonic() - started),
    }
