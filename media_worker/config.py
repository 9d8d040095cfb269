"""The worker's settings, from its environment (a task definition on Fargate)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerConfig:
        env = os.environ if env is None else env
        credential = env.get("ECLINIC_WORKER_SECRET", "")
        if not credential:
            raise SystemExit("ECLINIC_WORKER_SECRET is required: the worker cannot connect without it")
        return cls(
            ws_url=env.get("ECLINIC_WORKER_WS_URL", "ws://127.0.0.1:8000/ws"),
            credential=credential,
            worker_id=env.get("ECLINIC_WORKER_ID") or f"worker-{uuid.uuid4().hex[:12]}",
            capacity=int(env.get("ECLINIC_WORKER_CAPACITY", "4")),
            files_bucket=env.get("ECLINIC_FILES_BUCKET", "eclinic-files"),
            files_kms_key_id=env.get("ECLINIC_FILES_KMS_KEY_ID") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            connect_timeout=float(env.get("ECLINIC_PEER_CONNECT_TIMEOUT", "30")),
            heartbeat_seconds=float(env.get("ECLINIC_WORKER_HEARTBEAT", "20")),
            stun_urls=tuple(
                u.strip() for u in env.get("ECLINIC_WORKER_STUN_URLS", "").split(",") if u.strip()
            ),
            relay=_relay(env.get("ECLINIC_WORKER_RELAY", "forwarding")),
        )


def _relay(name: str) -> str:
    from media_worker.relay import RELAYS

    if name not in RELAYS:
        raise SystemExit(f"ECLINIC_WORKER_RELAY must be one of {', '.join(RELAYS)}, not {name!r}")
    return name
