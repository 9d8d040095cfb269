"""The connection registry on DynamoDB: one item per (channel, connection)."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.domain.timeutil import iso_utc_precise, parse_instant
from chalicelib.realtime.connections import (
    CONNECT_WINDOW,
    CONNECTION_TTL,
    CONNECTS_PER_LINK,
    MESSAGE_WINDOW,
    MESSAGES_PER_WINDOW,
    Connection,
    Role,
    channels_of,
    connect_window,
)
from chalicelib.store.models import ConnectionModel


class DynamoConnectionRegistry:
    def add(self, connection: Connection) -> None:
        with ConnectionModel.batch_write() as batch:
            for channel in channels_of(connection):
                batch.save(_to_item(channel, connection))

    def get(self, connection_id: str) -> Connection | None:
        for item in ConnectionModel.connection_id_index.query(connection_id, limit=1):
            return _from_item(item)
        return None

    def remove(self, connection_id: str) -> Connection | None:
        items = list(ConnectionModel.connection_id_index.query(connection_id))
        with ConnectionModel.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return _from_item(items[0]) if items else None

    def in_channel(self, channel: str) -> list[Connection]:
        return [_from_item(item) for item in ConnectionModel.query(channel)]

    def update(self, connection: Connection) -> None:
        for channel in channels_of(connection):
            try:
                _to_item(channel, connection).save(condition=ConnectionModel.connection_id.exists())
            except Exception as exc:
                if not _is_condition_failure(exc):
                    raise

    def touch(self, connection: Connection, at: datetime) -> None:
        for channel in channels_of(connection):
            try:
                ConnectionModel(channel, connection.id).update(
                    actions=[ConnectionModel.last_seen.set(iso_utc_precise(at))],
                    condition=ConnectionModel.connection_id.exists(),
                )
            except Exception as exc:  # gone meanwhile: nothing to keep alive
                if not _is_condition_failure(exc):
                    raise

    def allow_message(self, connection: Connection, now: datetime) -> bool:
        # One item keeps the count; a conditional write on its version settles two messages of
        # one connection that arrive at once (two Lambdas).
        for _ in range(RATE_WRITE_ATTEMPTS):
            try:
                item = ConnectionModel.get(channels_of(connection)[0], connection.id, consistent_read=True)
            except DoesNotExist:
                return True  # gone meanwhile: the handler will say so
            recent = [
                str(t) for t in item.recent_messages or [] if now - parse_instant(str(t)) < MESSAGE_WINDOW
            ]
            if len(recent) >= MESSAGES_PER_WINDOW:
                return False
            version = item.rate_version
            condition = (
                ConnectionModel.rate_version.does_not_exist()
                if version is None
                else ConnectionModel.rate_version == version
            )
            try:
                item.update(
                    actions=[
                        ConnectionModel.recent_messages.set([*recent, iso_utc_precise(now)]),  # type: ignore[list-item]
                        ConnectionModel.rate_version.set(int(version or 0) + 1),
                    ],
                    condition=condition,
                )
                return True
            except Exception as exc:
                if not _is_condition_failure(exc):
                    raise
        return False

    def count_connect(self, appointment_id: str, now: datetime) -> int | None:
        # One conditional ADD on the window's counter item: parallel connects (two Lambdas)
        # are each counted once, and none passes the limit. The item expires after its window.
        window = connect_window(now)
        counter = ConnectionModel(*_connect_counter_key(appointment_id, window))
        ends = datetime.fromtimestamp((window + 1) * CONNECT_WINDOW.total_seconds(), UTC)
        try:
            counter.update(
                actions=[
                    ConnectionModel.connects.add(1),
                    ConnectionModel.expires_at.set(ends + CONNECT_WINDOW),
                ],
                condition=ConnectionModel.connects.does_not_exist()
                | (ConnectionModel.connects < CONNECTS_PER_LINK),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return None
            raise
        return int(counter.connects or 0)

    def connects_in_window(self, appointment_id: str, now: datetime) -> int:
        try:
            counter = ConnectionModel.get(*_connect_counter_key(appointment_id, connect_window(now)))
        except DoesNotExist:
            return 0
        return int(counter.connects or 0)


def _connect_counter_key(appointment_id: str, window: int) -> tuple[str, str]:
    """A channel no fan-out queries, and a range key no API Gateway connection id can be."""
    return f"connects#{appointment_id}", f"window#{window}"


RATE_WRITE_ATTEMPTS = 5


def _is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException" or isinstance(
        exc, DoesNotExist
    )


def _to_item(channel: str, c: Connection) -> ConnectionModel:
    return ConnectionModel(
        channel,
        c.id,
        role=c.role.value,
        clinician_id=c.clinician_id,
        worker_id=c.worker_id,
        name=c.name,
        email=c.email,
        session_expires_at=iso_utc_precise(c.session_expires_at) if c.session_expires_at else None,
        groups=sorted(c.groups),
        appointment_id=c.appointment_id,
        connected_at=iso_utc_precise(c.connected_at),
        last_seen=iso_utc_precise(c.last_seen),
        expires_at=c.connected_at + CONNECTION_TTL,
        capacity=c.capacity if c.role is Role.WORKER else None,
        load=c.load if c.role is Role.WORKER else None,
        draining=c.draining if c.role is Role.WORKER else None,
        connecting=c.connecting or None,
        guest_id=c.guest_id,
        guest_seat=c.guest_seat,
        guest_role=c.guest_role,
        call_appointment_id=c.call_appointment_id,
        media_audio=None if c.audio else False,
        media_video=None if c.video else False,
    )


def _from_item(item: ConnectionModel) -> Connection:
    return Connection(
        id=item.connection_id,
        role=Role(item.role),
        clinician_id=item.clinician_id,
        worker_id=item.worker_id,
        name=item.name,
        email=item.email,
        session_expires_at=parse_instant(item.session_expires_at) if item.session_expires_at else None,
        connected_at=parse_instant(item.connected_at),
        last_seen=parse_instant(item.last_seen),
        groups=frozenset(str(g) for g in item.groups or []),
        appointment_id=item.appointment_id,
        capacity=int(item.capacity or 0),
        load=int(item.load or 0),
        draining=bool(item.draining),
        connecting=bool(item.connecting),
        guest_id=item.guest_id,
        guest_seat=item.guest_seat,
        guest_role=item.guest_role,
        call_appointment_id=item.call_appointment_id,
        audio=item.media_audio is not False,
        video=item.media_video is not False,
    )
