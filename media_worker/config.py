"""The worker's settings, from its environment (a task definition on Fargate).

The variables' names are in media_worker.settings_names, which the stack and the local run
import too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from media_worker import settings_names as names
from media_worker.sizing import VISITS_PER_PROCESS


@dataclass(frozen=True)
class WorkerConfig:
    ws_url: str  # the WebSocket API, e.g. wss://abc.execute-api.eu-central-1.amazonaws.com/v1
    credential: str  # the shared worker secret
    worker_id: str
    capacity: int  # visits this worker takes at once
    files_bucket: str
    files_kms_key_id: str | None
    region: str
    endpoint_url: str | None
    connect_timeout: float  # a peer still not connected after this is closed
    heartbeat_seconds: float
    # STUN servers to learn the task's public address behind Fargate's NAT; none locally
    stun_urls: tuple[str, ...] = ()
    metrics_namespace: str | None = None  # CloudWatch, for autoscaling on active visits
    service_name: str = "eclinic-media-worker"
    relay: str = "forwarding"  # or "decoding": aiortc's decode-and-re-encode, for the benchmark
    processes: int = 1  # more than one: the entry point runs that many workers, one per process
    process_index: int | None = None  # which of those processes this is (1, 2, ...)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerConfig:
        env = os.environ if env is None else env
        credential = env.get(names.SECRET, "")
        if not credential:
            raise SystemExit(f"{names.SECRET} is required: the worker cannot connect without it")
        return cls(
            ws_url=env.get(names.WS_URL, "ws://127.0.0.1:8000/ws"),
            credential=credential,
            worker_id=env.get(names.WORKER_ID) or f"worker-{uuid.uuid4().hex[:12]}",
            capacity=_positive(env, names.CAPACITY, VISITS_PER_PROCESS),
            files_bucket=env.get(names.FILES_BUCKET, "eclinic-files"),
            files_kms_key_id=env.get(names.FILES_KMS_KEY_ID) or None,
            region=env.get(names.REGION) or env.get(names.DEFAULT_REGION) or "us-east-1",
            endpoint_url=env.get(names.ENDPOINT_URL) or None,
            connect_timeout=float(env.get(names.PEER_CONNECT_TIMEOUT, "30")),
            heartbeat_seconds=float(env.get(names.HEARTBEAT, "20")),
            stun_urls=tuple(u.strip() for u in env.get(names.STUN_URLS, "").split(",") if u.strip()),
            metrics_namespace=env.get(names.METRICS_NAMESPACE) or None,
            service_name=env.get(names.SERVICE) or "eclinic-media-worker",
            relay=_relay(env.get(names.RELAY, "forwarding")),
            processes=worker_processes(env),
            process_index=process_index(env),
        )


def worker_processes(env: Mapping[str, str]) -> int:
    """How many worker processes this container runs (the health check asks too)."""
    return _positive(env, names.PROCESSES, 1)


def process_index(env: Mapping[str, str]) -> int | None:
    """Which of the container's worker processes this is; None when it is the only one."""
    value = env.get(names.PROCESS_INDEX)
    return int(value) if value else None


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name) or str(default)
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, not {value!r}")
    return number


def _relay(name: str) -> str:
    from media_worker.relay import RELAYS

    if name not in RELAYS:
        raise SystemExit(f"{names.RELAY} must be one of {', '.join(RELAYS)}, not {name!r}")
    return name
