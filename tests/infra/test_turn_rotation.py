"""The TURN instances' start script (infra/turn/eclinic_turn.py) against Debian's coturn and
moto's Secrets Manager: a rotation reaches a running coturn, which accepts the current and the
previous secret, with no restart, and refuses expired credentials. Split from
test_turn_service.py, which checks the synthesized template."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AwsStack
from tests.infra.conftest import INFRA

TURN_FILES = INFRA / "turn"


MAGIC_COOKIE = 0x2112A442
ALLOCATE, ALLOCATE_OK, ALLOCATE_ERROR = 0x0003, 0x0103, 0x0113
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE, XOR_RELAYED, TRANSPORT = (
    0x0006, 0x0008, 0x0009, 0x0014, 0x0015, 0x0016, 0x0019,
)  # fmt: skip


def stun_attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def stun_message(kind: int, attributes: list[bytes], key: bytes | None = None) -> bytes:
    transaction, body = os.urandom(12), b"".join(attributes)
    if key is not None:  # MESSAGE-INTEGRITY covers the header with its own length counted in
        header = struct.pack("!HHI", kind, len(body) + 24, MAGIC_COOKIE) + transaction
        body += stun_attribute(MESSAGE_INTEGRITY, hmac.new(key, header + body, hashlib.sha1).digest())
    return struct.pack("!HHI", kind, len(body), MAGIC_COOKIE) + transaction + body


def stun_parse(data: bytes) -> tuple[int, dict[int, bytes]]:
    kind, length, _ = struct.unpack("!HHI", data[:8])
    found, at = {}, 20
    while at < 20 + length:
        attribute, size = struct.unpack("!HH", data[at : at + 4])
        found[attribute] = data[at + 4 : at + 4 + size]
        at += 4 + size + (-size % 4)
    return kind, found


def allocate(port: int, username: str, password: str) -> str:
    """What coturn answers a TURN Allocate (RFC 8656) with these long-term credentials, as a
    browser sends it: "allocated" or the error code."""
    transport = stun_attribute(TRANSPORT, bytes([17, 0, 0, 0]))  # UDP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        client.sendto(stun_message(ALLOCATE, [transport]), ("127.0.0.1", port))
        kind, challenge = stun_parse(client.recv(2048))
        assert kind == ALLOCATE_ERROR and challenge[ERROR_CODE][2:4] == bytes(
            [4, 1]
        )  # 401: credentials, please
        realm, nonce = challenge[REALM], challenge[NONCE]
        key = hashlib.md5(b"%s:%s:%s" % (username.encode(), realm, password.encode())).digest()  # noqa: S324
        request = [transport, stun_attribute(USERNAME, username.encode()), stun_attribute(REALM, realm)]
        client.sendto(
            stun_message(ALLOCATE, [*request, stun_attribute(NONCE, nonce)], key), ("127.0.0.1", port)
        )
        kind, answer = stun_parse(client.recv(2048))
    if kind == ALLOCATE_OK:
        assert XOR_RELAYED in answer
        return "allocated"
    code = answer[ERROR_CODE]
    return str(code[2] * 100 + code[3])


def credential_from(secret: str) -> tuple[str, str]:
    """A TURN REST credential as chalicelib/auth/turn_credentials.py makes one."""
    from chalicelib.auth.turn_credentials import password

    username = f"{int(time.time()) + 600}:{secrets.token_hex(8)}"
    return username, password(secret.encode(), username)


def free_port() -> int:
    """A port free for both UDP and TCP: coturn listens on both."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class Rotation:
    """The TurnCredential secret in moto, rotated the way README's "TURN on AWS" says."""

    def __init__(self, aws: AwsStack, first: str) -> None:
        self.client = aws.client("secretsmanager")
        name = f"turn-rotation-{secrets.token_hex(4)}"
        self.arn = str(self.client.create_secret(Name=name, SecretString=first)["ARN"])

    def stage(self, value: str) -> str:
        answer = self.client.put_secret_value(
            SecretId=self.arn, SecretString=value, VersionStages=["AWSPENDING"]
        )
        return str(answer["VersionId"])

    def promote(self, version: str) -> None:
        stages = self.client.describe_secret(SecretId=self.arn)["VersionIdsToStages"]
        (current,) = [v for v, s in stages.items() if "AWSCURRENT" in s]
        self.client.update_secret_version_stage(
            SecretId=self.arn, VersionStage="AWSCURRENT", MoveToVersionId=version, RemoveFromVersionId=current
        )
        self.client.update_secret_version_stage(
            SecretId=self.arn, VersionStage="AWSPENDING", RemoveFromVersionId=version
        )


@pytest.fixture
def coturn_files(tmp_path: Path) -> Iterator[dict[str, Any]]:
    yield {
        "db": tmp_path / "turndb",
        "conf": tmp_path / "turnserver.conf",
        "log": tmp_path / "turnserver.log",
    }


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_coturn(files: dict[str, Path], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's coturn with the configuration `configure` wrote, once it listens on `port`."""
    executable = shutil.which("turnserver")
    if executable is None:
        pytest.fail("Debian's coturn is not installed: `make test` installs it (apt-get install coturn)")
    process = subprocess.Popen(
        [executable, "-c", str(files["conf"]), f"--pidfile={files['db'].with_suffix('.pid')}"],
        stdout=files["log"].open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while not listening(port):
            assert process.poll() is None and time.monotonic() < deadline, files["log"].read_text()
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_script(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """infra/turn/eclinic_turn.py as the instance's systemd units run it."""
    return subprocess.run(
        [sys.executable, str(TURN_FILES / "eclinic_turn.py"), *command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def configure_for_the_workers(env: dict[str, str], port: int, files: dict[str, Path]) -> None:
    """The start script's `configure`: relaying to the workers' subnets only, with the shared
    secret read from coturn's database, never written into its configuration."""
    configured = run_script(
        ["configure", "--address", "127.0.0.1", "--port", str(port), "--output", str(files["conf"])],
        env,
    )
    assert configured.returncode == 0, configured.stderr
    conf = files["conf"].read_text()
    assert "allowed-peer-ip=10.0.0.4-10.0.127.254\nallowed-peer-ip=10.0.128.4-10.0.255.254" in conf
    assert "static-auth-secret" not in conf and "use-auth-secret" in conf


def relays_from_this_machine_to_the_workers_only(files: dict[str, Path]) -> None:
    """What the running coturn's log says it took from that configuration."""
    log = files["log"].read_text(errors="replace")
    assert "Relay address to use: 127.0.0.1" in log
    assert "White listing: 10.0.0.4-10.0.127.254" in log and "Black listing: 0.0.0.0-255.255.255.255" in log


def test_coturn_accepts_current_and_previous_secret_through_a_rotation_without_a_restart(
    aws: AwsStack, coturn_files: dict[str, Path]
) -> None:
    first, second, third = (secrets.token_urlsafe(36) for _ in range(3))
    rotation = Rotation(aws, first)
    port = free_port()
    env = {
        "ECLINIC_TURN_SECRET_ARN": rotation.arn,
        "ECLINIC_TURN_REALM": "eclinic",
        "ECLINIC_TURN_DB": str(coturn_files["db"]),
        "ECLINIC_TURN_RELAY_PORTS": "61000-61099",
        "ECLINIC_TURN_PEER_CIDRS": "10.0.0.0/17,10.0.128.0/17",
    }

    def sync() -> str:
        done = run_script(["sync"], env)
        assert done.returncode == 0, done.stderr
        assert first not in done.stdout + done.stderr and second not in done.stdout + done.stderr
        return done.stdout.strip()

    # The instance's boot: the configuration and the first read, then coturn.
    configure_for_the_workers(env, port, coturn_files)
    assert sync() == "turn secrets: 1 accepted (changed)"
    with running_coturn(coturn_files, port) as process:
        relays_from_this_machine_to_the_workers_only(coturn_files)

        assert allocate(port, *credential_from(first)) == "allocated"
        assert allocate(port, *credential_from(second)) == "401"
        assert sync() == "turn secrets: 1 accepted"  # nothing changed, nothing written

        # Rotation, step 1: the new value as AWSPENDING. coturn accepts it before any function uses it.
        pending = rotation.stage(second)
        assert sync() == "turn secrets: 2 accepted (changed)"
        assert allocate(port, *credential_from(first)) == "allocated"
        assert allocate(port, *credential_from(second)) == "allocated"
        # Step 2: it becomes AWSCURRENT; the old one, AWSPREVIOUS, still works (its credentials live on).
        rotation.promote(pending)
        sync()
        assert allocate(port, *credential_from(second)) == "allocated"
        assert allocate(port, *credential_from(first)) == "allocated"
        # The next rotation retires the first secret.
        rotation.promote(rotation.stage(third))
        assert sync() == "turn secrets: 2 accepted (changed)"
        assert allocate(port, *credential_from(third)) == "allocated"
        assert allocate(port, *credential_from(second)) == "allocated"
        assert allocate(port, *credential_from(first)) == "401"

        # Secrets Manager refusing (here: no such secret) changes nothing: coturn keeps accepting.
        failed = run_script(["sync"], {**env, "ECLINIC_TURN_SECRET_ARN": rotation.arn + "-gone"})
        assert failed.returncode != 0 and "ResourceNotFoundException" in failed.stderr
        assert allocate(port, *credential_from(third)) == "allocated"
        # All along one coturn process: nothing was restarted.
        assert process.poll() is None
    assert third not in coturn_files["log"].read_text(errors="replace")


def test_expired_credentials_are_refused(aws: AwsStack, coturn_files: dict[str, Path]) -> None:
    """coturn checks the expiry in the user name, as chalicelib's credentials expect."""
    from chalicelib.auth.turn_credentials import password

    secret = secrets.token_urlsafe(36)
    rotation, port = Rotation(aws, secret), free_port()
    env = {
        "ECLINIC_TURN_SECRET_ARN": rotation.arn,
        "ECLINIC_TURN_DB": str(coturn_files["db"]),
        "ECLINIC_TURN_RELAY_PORTS": "61100-61199",
    }
    run_script(
        ["configure", "--address", "127.0.0.1", "--port", str(port), "--output", str(coturn_files["conf"])],
        env,
    )
    assert run_script(["sync"], env).returncode == 0
    with running_coturn(coturn_files, port):
        expired = f"{int(time.time()) - 60}:{secrets.token_hex(8)}"
        assert allocate(port, expired, password(secret.encode(), expired)) == "401"
        username, credential = credential_from(secret)
        assert allocate(port, username, credential) == "allocated"
        assert allocate(port, username, base64.b64encode(b"not it").decode()) == "401"
