#!/usr/bin/env python3
"""coturn on an eClinic TURN instance: its configuration, and its shared secrets kept equal to
the TURN secret's versions in Secrets Manager. Runs on the instance (Ubuntu's python3 and
python3-boto3); infra/eclinic_infra/turn.py puts it there with the user data, and the tests run
the same file against Debian's coturn and moto.

`configure` writes coturn's configuration from turnserver.conf beside this file: the instance's
private address to listen and relay on, and the only peers it may relay to (the media workers'
subnets).

`sync` reads the secret's AWSCURRENT, AWSPREVIOUS and AWSPENDING versions and makes them the
rows of coturn's `turn_secret` table (its SQLite user database). coturn tries every secret it
has on each TURN REST credential (README.turnserver, `static-auth-secret`: "Multiple shared
secrets can be used (both in the database and in the 'static' fashion)"), and it reads that
table at each authentication. `static-auth-secret` values, in contrast, are read once at start:
coturn reloads no configuration on a signal (SIGHUP only reopens its log file, SIGUSR2 reloads
TLS certificates, SIGUSR1 drains), and a restart would drop every relayed call. So a rotation
reaches a running coturn through the table, with no restart. The table is written only when
the set of secrets changed, in one transaction; when Secrets Manager cannot be read, it is
left as it is (coturn keeps accepting what it accepted).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sqlite3
import string
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# The versions coturn accepts: the one the functions sign with, the one before it (credentials
# made with it live up to 4 hours), and one being rolled out (so that it is accepted everywhere
# before the functions start using it).
STAGES = ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING")
TABLE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS turn_secret "
    "(realm varchar(127) default '', value varchar(127), primary key (realm, value))"
)
# AWS keeps the first four addresses and the last one of every subnet (network, router, DNS,
# reserved, broadcast): never a worker, so never a peer.
RESERVED_AT_START, RESERVED_AT_END = 4, 1


def secret_values(client: Any, secret_id: str) -> list[str]:
    """The secret's values that coturn must accept, AWSCURRENT first, without repeats."""
    values: list[str] = []
    for stage in STAGES:
        try:
            answer = client.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except client.exceptions.ResourceNotFoundException:
            if stage == "AWSCURRENT":
                raise
            continue  # no rotation yet, or none under way
        value = str(answer["SecretString"])
        if value and value not in values:
            values.append(value)
    if not values:
        raise RuntimeError(f"{secret_id} has no value")
    return values


def store_secrets(db_path: Path, realm: str, values: Sequence[str]) -> bool:
    """Makes `values` the realm's rows of coturn's turn_secret table; False when they already were."""
    db = sqlite3.connect(db_path, timeout=30)
    try:
        # Readers (coturn) go on reading while a rotation is written.
        db.execute("PRAGMA journal_mode=WAL")
        with db:  # one transaction: coturn never sees the table half written
            db.execute(TABLE_SCHEMA)
            stored = {row[0] for row in db.execute("SELECT value FROM turn_secret WHERE realm = ?", (realm,))}
            if stored == set(values):
                return False
            db.execute("DELETE FROM turn_secret WHERE realm = ?", (realm,))
            db.executemany(
                "INSERT INTO turn_secret (realm, value) VALUES (?, ?)", [(realm, value) for value in values]
            )
        return True
    finally:
        db.close()


def peer_ranges(cidrs: Iterable[str]) -> list[str]:
    """coturn's `allowed-peer-ip` ranges for these subnets, without the addresses AWS reserves."""
    ranges = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr.strip())
        first = network.network_address + RESERVED_AT_START
        last = network.broadcast_address - RESERVED_AT_END
        ranges.append(f"{first}-{last}")
    return ranges


def render(
    template: str,
    *,
    address: str,
    port: int,
    relay_ports: tuple[int, int],
    realm: str,
    userdb: Path,
    peer_cidrs: Iterable[str],
) -> str:
    """coturn's configuration: listen and relay on `address`, relay to the peer subnets only."""
    return string.Template(template).substitute(
        address=ipaddress.ip_address(address),
        port=port,
        min_port=relay_ports[0],
        max_port=relay_ports[1],
        realm=realm,
        userdb=userdb,
        allowed_peers="\n".join(f"allowed-peer-ip={r}" for r in peer_ranges(peer_cidrs)),
    )


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="eclinic-turn", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    configure = commands.add_parser("configure", help="write coturn's configuration")
    configure.add_argument("--address", required=True, help="the instance's private address")
    configure.add_argument("--port", type=int, default=int(env.get("ECLINIC_TURN_PORT", "3478")))
    configure.add_argument("--template", type=Path, default=Path(__file__).with_name("turnserver.conf"))
    configure.add_argument("--output", type=Path, default=Path("/etc/turnserver.conf"))
    commands.add_parser("sync", help="store the TURN secret's versions in coturn's database")
    arguments = parser.parse_args(argv)
    realm = env.get("ECLINIC_TURN_REALM", "eclinic")
    userdb = Path(env.get("ECLINIC_TURN_DB", "/var/lib/turn/turndb"))

    if arguments.command == "configure":
        first, last = (int(p) for p in env.get("ECLINIC_TURN_RELAY_PORTS", "49152-65535").split("-"))
        text = render(
            arguments.template.read_text(),
            address=arguments.address,
            port=arguments.port,
            relay_ports=(first, last),
            realm=realm,
            userdb=userdb,
            peer_cidrs=[c for c in env.get("ECLINIC_TURN_PEER_CIDRS", "").split(",") if c.strip()],
        )
        arguments.output.write_text(text)
        return 0

    import boto3  # only `sync` talks to AWS

    client = boto3.client("secretsmanager", region_name=env.get("AWS_REGION"))
    values = secret_values(client, env["ECLINIC_TURN_SECRET_ARN"])
    changed = store_secrets(userdb, realm, values)
    # Counts only: the values never reach a log.
    print(f"turn secrets: {len(values)} accepted{' (changed)' if changed else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
