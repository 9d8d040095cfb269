"""Issue 2's figures: cold import of app.py, schedule listing over 100,000 appointments,
and the size of the Lambda deployment package."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib import settings_names as app_settings

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("aiortc", "av", "aws_cdk", "boto3", "botocore", "pynamodb", "jwt", "jinja2", "moto")

_IMPORT_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import app
elapsed = time.perf_counter() - t0
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
print(json.dumps({"ms": elapsed * 1000, "heavy": heavy}))
"""


def cold_import(runs: int = 15) -> dict[str, object]:
    samples, heavy = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE, json.dumps(HEAVY)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        answer = json.loads(out)
        samples.append(answer["ms"])
        heavy = answer["heavy"]
    return {
        "runs": runs,
        "median_ms": round(statistics.median(samples), 1),
        "max_ms": round(max(samples), 1),
        "heavy_modules_imported": heavy,
    }


def schedule_listing(total: int, groups: int, calls: int = 20) -> dict[str, object]:
    from local import aws_standin

    stand_in = aws_standin.start()
    try:
        os.environ.update(aws_standin.base_environment(stand_in.endpoint, "http://bench.local"))
        aws_standin.bootstrap(os.environ)
        from chalicelib.config import Settings
        from chalicelib.store.appointments import DynamoAppointments
        from chalicelib.store.dynamo import Transactions

        settings = Settings.from_env()
        repo = DynamoAppointments(Transactions(settings.region, settings.endpoint_url))
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        load_s = _load_appointments(total, groups, start)

        timings, returned, read = [], 0, 0
        for call in range(calls):
            group = f"group-{call % groups:02d}"
            t = time.perf_counter()
            result = repo.schedule([group], start, start + timedelta(days=30))
            timings.append((time.perf_counter() - t) * 1000)
            returned, read = len(result.appointments), result.items_read
            assert read == returned, (read, returned)
        timings.sort()
        raw_ms = _raw_query_ms(settings, start, start + timedelta(days=30))
        day_ms = []
        for call in range(5):
            t = time.perf_counter()
            day = repo.schedule([f"group-{call:02d}"], start, start + timedelta(days=1))
            day_ms.append((time.perf_counter() - t) * 1000)
        return {
            "appointments_in_table": total,
            "groups": groups,
            "load_seconds": round(load_s, 1),
            "calls": calls,
            "returned_per_call": returned,
            "items_read_per_call (ScannedCount)": read,
            "ms_per_call_p50": round(statistics.median(timings), 1),
            "ms_per_call_p95": round(timings[int(len(timings) * 0.95) - 1], 1),
            "ms_same_query_raw_boto3 (moto's own cost)": round(raw_ms, 1),
            "one_day_window": {
                "returned": len(day.appointments),
                "items_read": day.items_read,
                "ms_p50": round(statistics.median(day_ms), 1),
            },
        }
    finally:
        stand_in.stop()


def _load_appointments(total: int, groups: int, start: datetime) -> float:
    """Writes `total` scheduled appointments over `groups` groups; returns the seconds it took."""
    from chalicelib.domain.appointment import Appointment, Invite, Status
    from chalicelib.store.appointments import to_model
    from chalicelib.store.models import AppointmentModel

    t0 = time.perf_counter()
    with AppointmentModel.batch_write() as batch:
        for i in range(total):
            # Spread over 60 days so that a 30-day window holds about half of each group.
            item = Appointment(
                id=str(uuid.uuid4()),
                group=f"group-{i % groups:02d}",
                starts_at=start + timedelta(minutes=(i // groups) * (60 * 24 * 60) // (total // groups)),
                duration_minutes=15,
                timezone="Europe/Berlin",
                patient_name=f"Bench Patient {i}",
                patient_email=f"bench{i}@example.com",
                status=Status.SCHEDULED,
                taken_by=None,
                invited_by="bench@clinic.example",
                invite=Invite(),
                created_at=start,
                updated_at=start,
                link_nonce=uuid.uuid4().hex,
                link_token_hash=uuid.uuid4().hex,
            )
            batch.save(to_model(item))
    return time.perf_counter() - t0


def _raw_query_ms(settings: object, start: datetime, end: datetime) -> float:
    """The same Query without PynamoDB, to tell moto's cost from the application's."""
    from chalicelib import aws
    from chalicelib.domain.timeutil import iso_utc

    client = aws.client(settings, "dynamodb")  # type: ignore[arg-type]
    t = time.perf_counter()
    pages = client.get_paginator("query").paginate(
        TableName=settings.appointments_table,  # type: ignore[attr-defined]
        IndexName="group-starts_at-index",
        KeyConditionExpression="#g = :g AND starts_at BETWEEN :a AND :b",
        ExpressionAttributeNames={"#g": "group"},
        ExpressionAttributeValues={
            ":g": {"S": "group-00"},
            ":a": {"S": iso_utc(start)},
            ":b": {"S": iso_utc(end)},
        },
    )
    for _ in pages:
        pass
    return (time.perf_counter() - t) * 1000


def package_size() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [str(Path(sys.executable).parent / "chalice"), "package", "--stage", "dev", out],
            cwd=ROOT,
            env={**os.environ, app_settings.DEFAULT_REGION: "us-east-1"},
            check=True,
            capture_output=True,
        )
        path = Path(out) / "deployment.zip"
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(i.file_size for i in archive.infolist())
            biggest: dict[str, int] = {}
            for info in archive.infolist():
                top = info.filename.split("/")[0]
                biggest[top] = biggest.get(top, 0) + info.file_size
        top5 = sorted(biggest.items(), key=lambda kv: -kv[1])[:5]
        return {
            "zip_mib": round(path.stat().st_size / 2**20, 2),
            "unzipped_mib": round(unzipped / 2**20, 2),
            "largest_unzipped_mib": {k: round(v / 2**20, 2) for k, v in top5},
        }


def run(total: int, groups: int) -> dict[str, object]:
    return {
        "cold_import_app_py": cold_import(),
        "schedule_listing": schedule_listing(total, groups),
        "lambda_package": package_size(),
    }
