"""PynamoDB models: the one description of every table, its keys, indexes and TTL.

Tables are created from these models in the local run and the tests, and the CDK stack is
checked against them, so a key or index changes in one place only.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.config import Settings


class ScheduleIndex(GlobalSecondaryIndex["AppointmentModel"]):
    """A group's appointments by start: a schedule is one Query, never a Scan."""

    class Meta:
        index_name = "group-starts_at-index"
        projection = AllProjection()

    group = UnicodeAttribute(hash_key=True)
    starts_at = UnicodeAttribute(range_key=True)


class LinkIndex(GlobalSecondaryIndex["AppointmentModel"]):
    """From a patient link's hash to its appointment."""

    class Meta:
        index_name = "link_token_hash-index"
        projection = KeysOnlyProjection()

    link_token_hash = UnicodeAttribute(hash_key=True)


class WorkerIndex(GlobalSecondaryIndex["AppointmentModel"]):
    """Sparse: only appointments with a media worker, to move them when it drains."""

    class Meta:
        index_name = "media_worker_id-index"
        projection = KeysOnlyProjection()

    media_worker_id = UnicodeAttribute(hash_key=True)


class GuestSummaryMap(MapAttribute[str, str]):
    """One entry of `AppointmentModel.guests` (chalicelib/domain/guest.py: GuestSummary)."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    seat = UnicodeAttribute()
    status = UnicodeAttribute()


class AppointmentModel(Model):
    class Meta:
        table_name = "eclinic-appointments"

    id = UnicodeAttribute(hash_key=True)
    group = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    duration_minutes = NumberAttribute()
    timezone = UnicodeAttribute()
    patient_name = UnicodeAttribute()
    patient_email = UnicodeAttribute()
    status = UnicodeAttribute()
    taken_by = UnicodeAttribute(null=True)
    taken_by_name = UnicodeAttribute(null=True)
    taken_by_id = UnicodeAttribute(null=True)
    invited_by = UnicodeAttribute()
    invite_status = UnicodeAttribute()
    invite_count = NumberAttribute()
    invite_last_sent_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    link_nonce = UnicodeAttribute()
    link_token_hash = UnicodeAttribute()
    version = NumberAttribute()
    media_worker_id = UnicodeAttribute(null=True)
    # The patient's last device check (chalicelib/domain/device_check.py); all three or none.
    device_camera = UnicodeAttribute(null=True)
    device_microphone = UnicodeAttribute(null=True)
    device_checked_at = UnicodeAttribute(null=True)
    waiting_since = UnicodeAttribute(null=True)  # while `waiting`: since when
    # Texts (issue 11): the number in E.164, whether it is on the opt-out list, the invitation's
    # last text; the .ics sequence; the reminders already claimed for sending.
    patient_phone = UnicodeAttribute(null=True)
    patient_phone_opted_out = BooleanAttribute(null=True)
    invite_text_status = UnicodeAttribute(null=True)
    calendar_sequence = NumberAttribute(null=True)
    reminders_sent = ListAttribute(of=UnicodeAttribute, null=True)
    # The guests not removed (issue 13), kept with the appointment in the guests' transactions.
    guests = ListAttribute(of=GuestSummaryMap, null=True)

    schedule_index = ScheduleIndex()
    link_index = LinkIndex()
    worker_index = WorkerIndex()


class AuditEventModel(Model):
    """Append-only: one item per action, ordered by `event_key` (time, then a random tie-break)."""

    class Meta:
        table_name = "eclinic-audit"

    appointment_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    from_status = UnicodeAttribute()
    to_status = UnicodeAttribute()
    actor_email = UnicodeAttribute(null=True)
    detail = MapAttribute[str, str](null=True)  # AuditEvent.detail: strings only, no patient data


class GuestLinkIndex(GlobalSecondaryIndex["GuestModel"]):
    """From a guest link's hash to its guest."""

    class Meta:
        index_name = "link_token_hash-index"
        projection = KeysOnlyProjection()

    link_token_hash = UnicodeAttribute(hash_key=True)


class GuestModel(Model):
    """A guest of a visit (chalicelib/domain/guest.py), removed ones kept for the record."""

    class Meta:
        table_name = "eclinic-guests"

    appointment_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    seat = UnicodeAttribute()
    status = UnicodeAttribute()
    link_token_hash = UnicodeAttribute()
    invited_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    removed_at = UnicodeAttribute(null=True)

    link_index = GuestLinkIndex()


class TaskModel(Model):
    class Meta:
        table_name = "eclinic-tasks"

    appointment_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    title = UnicodeAttribute()
    note = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()


class ConnectionIdIndex(GlobalSecondaryIndex["ConnectionModel"]):
    """From a websocket connection to every channel it subscribed to, for disconnect."""

    class Meta:
        index_name = "connection_id-index"
        projection = AllProjection()

    connection_id = UnicodeAttribute(hash_key=True)


class ConnectionModel(Model):
    """A websocket connection's subscription to one channel (a group, a clinician, a patient's
    appointment, all patients, workers): fan-out to a channel is one Query on its hash key.

    `last_seen` moves with every heartbeat; presence ignores connections whose heartbeat stopped.
    `expires_at` is a TTL so that DynamoDB eventually drops what no disconnect removed.
    """

    class Meta:
        table_name = "eclinic-connections"

    channel = UnicodeAttribute(hash_key=True)
    connection_id = UnicodeAttribute(range_key=True)
    role = UnicodeAttribute()
    clinician_id = UnicodeAttribute(null=True)  # see Connection: one field per role
    worker_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    session_expires_at = UnicodeAttribute(null=True)
    # On the connection's first channel item only: when its last messages came (the rate limit).
    recent_messages = ListAttribute(of=UnicodeAttribute, null=True)
    rate_version = NumberAttribute(null=True)
    # Only on a link's connect counter (`connects#<appointment>`, `window#<n>`): its connects.
    connects = NumberAttribute(null=True)
    groups = ListAttribute(of=UnicodeAttribute, default=list)
    appointment_id = UnicodeAttribute(null=True)
    connected_at = UnicodeAttribute()
    last_seen = UnicodeAttribute()
    expires_at = TTLAttribute()
    capacity = NumberAttribute(null=True)
    load = NumberAttribute(null=True)
    draining = BooleanAttribute(null=True)
    connecting = BooleanAttribute(null=True)  # only while its $connect runs
    guest_id = UnicodeAttribute(null=True)
    guest_seat = UnicodeAttribute(null=True)
    guest_role = UnicodeAttribute(null=True)
    call_appointment_id = UnicodeAttribute(null=True)
    media_audio = BooleanAttribute(null=True)  # False once a page in a call said so; else absent
    media_video = BooleanAttribute(null=True)

    connection_id_index = ConnectionIdIndex()


class ChatMessageModel(Model):
    """A session's chat, kept with the appointment so that a reload shows the history."""

    class Meta:
        table_name = "eclinic-messages"

    appointment_id = UnicodeAttribute(hash_key=True)
    message_key = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    sender_role = UnicodeAttribute()
    sender_name = UnicodeAttribute()
    sender_seat = UnicodeAttribute(null=True)  # absent on lines written before guests
    text = UnicodeAttribute()
    at = UnicodeAttribute()


class ScreenshotModel(Model):
    """A screenshot request, its consent decision and, once taken, the stored file."""

    class Meta:
        table_name = "eclinic-screenshots"

    appointment_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    requested_by = UnicodeAttribute()
    requested_at = UnicodeAttribute()
    status = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    consent_until = UnicodeAttribute(null=True)
    key = UnicodeAttribute(null=True)
    filename = UnicodeAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    taken_at = UnicodeAttribute(null=True)


class DocumentModel(Model):
    """Written information sent to the patient; the file itself is in S3."""

    class Meta:
        table_name = "eclinic-documents"

    appointment_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    title = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()


class SealedAccessTokenModel(Model):
    """Cognito's access token of one login, sealed with a key that only that login's ID token
    gives (chalicelib/auth/access_tokens.py): what the table holds opens nothing on its own."""

    class Meta:
        table_name = "eclinic-logins"

    lookup = UnicodeAttribute(hash_key=True)
    sealed = UnicodeAttribute()
    expires_at = TTLAttribute()


# A local run or a test drives many threads through one process; Lambda needs far fewer.
MAX_POOL_CONNECTIONS = 32
ALL_MODELS: tuple[type[Model], ...] = (
    AppointmentModel,
    AuditEventModel,
    TaskModel,
    ConnectionModel,
    ChatMessageModel,
    ScreenshotModel,
    DocumentModel,
    SealedAccessTokenModel,
    GuestModel,
)


def bind_models(settings: Settings) -> None:
    """Point every model at this deployment's tables and endpoint."""
    names = {
        AppointmentModel: settings.appointments_table,
        AuditEventModel: settings.audit_table,
        TaskModel: settings.tasks_table,
        ConnectionModel: settings.connections_table,
        ChatMessageModel: settings.messages_table,
        ScreenshotModel: settings.screenshots_table,
        DocumentModel: settings.documents_table,
        SealedAccessTokenModel: settings.logins_table,
        GuestModel: settings.guests_table,
    }
    for model, table_name in names.items():
        model.Meta.table_name = table_name
        model.Meta.region = settings.region
        model.Meta.host = settings.endpoint_url
        model.Meta.max_pool_connections = MAX_POOL_CONNECTIONS
        model._connection = None


def create_tables(settings: Settings) -> None:
    """Create every table (local run and tests; on AWS the CDK stack does this)."""
    bind_models(settings)
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
