"""Builds the real adapters from the settings, once per process (a warm Lambda reuses them).

`app.py` and the routes of `chalicelib/api/` ask for `services()` inside their handlers, so
importing the app stays cheap and no AWS client exists until a request needs one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib import aws
from chalicelib.auth.access_tokens import AccessTokenVault, DynamoSealedTokens
from chalicelib.auth.cognito import CognitoIdentityProvider, IdentityProvider
from chalicelib.auth.password_reset import LocalResetCodes
from chalicelib.auth.tokens import CognitoTokenVerifier, TokenVerifier
from chalicelib.auth.turn_credentials import turn_credentials
from chalicelib.config import Settings
from chalicelib.domain.reminders import offsets_from_minutes
from chalicelib.events.publisher import EventBridgePublisher
from chalicelib.files.storage import S3FileStore
from chalicelib.mail.mailer import SesMailer
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.dynamo_connections import DynamoConnectionRegistry
from chalicelib.realtime.management import ApiGatewayManagementApi
from chalicelib.realtime.updates import LiveUpdates
from chalicelib.reminders.scheduler import EventBridgeReminderScheduler
from chalicelib.store.appointments import DynamoAppointments
from chalicelib.store.audit import DynamoAuditLog
from chalicelib.store.chat import DynamoChat
from chalicelib.store.documents import DynamoDocuments
from chalicelib.store.dynamo import Transactions
from chalicelib.store.guests import DynamoGuests
from chalicelib.store.models import bind_models
from chalicelib.store.screenshots import DynamoScreenshots
from chalicelib.store.tasks import DynamoTasks
from chalicelib.texts.sender import SnsTextSender
from chalicelib.usecases.appointments import AppointmentService, LinkPolicy
from chalicelib.usecases.documents import Documents
from chalicelib.usecases.guests import GuestService
from chalicelib.usecases.live import LiveService
from chalicelib.usecases.media_workers import MediaWorkers
from chalicelib.usecases.reminders import ReminderService
from chalicelib.usecases.screenshots import Screenshots
from chalicelib.usecases.signalling import Signalling

MIN_LINK_SECRET_BYTES = 32


@dataclass(frozen=True)
class Services:
    """What the handlers of `app.py` and `chalicelib/api/` call: one instance per process."""

    settings: Settings
    identity: IdentityProvider
    tokens: TokenVerifier
    access_tokens: AccessTokenVault
    appointments: AppointmentService
    live: LiveService
    screenshots: Screenshots
    documents: Documents
    reminders: ReminderService
    guests: GuestService


@dataclass(frozen=True)
class DynamoStores:
    """The stores on DynamoDB, one per kind of record; their transactions share one connection."""

    appointments: DynamoAppointments
    audit: DynamoAuditLog
    chat: DynamoChat
    tasks: DynamoTasks
    documents: DynamoDocuments
    screenshots: DynamoScreenshots
    guests: DynamoGuests

    @classmethod
    def on(cls, settings: Settings) -> DynamoStores:
        """The stores for the models' tables (`bind_models` points the models at them)."""
        transactions = Transactions(settings.region, settings.endpoint_url)
        return cls(
            appointments=DynamoAppointments(transactions),
            audit=DynamoAuditLog(),
            chat=DynamoChat(transactions),
            tasks=DynamoTasks(transactions),
            documents=DynamoDocuments(transactions),
            screenshots=DynamoScreenshots(transactions),
            guests=DynamoGuests(transactions),
        )


def build(settings: Settings) -> Services:
    def read_secret(arn: str) -> str:
        return str(aws.client(settings, "secretsmanager").get_secret_value(SecretId=arn)["SecretString"])

    settings = settings.resolved(
        secret=read_secret,
        parameter=lambda name: str(
            aws.client(settings, "ssm").get_parameter(Name=name)["Parameter"]["Value"]
        ),
    )
    _require_settings(settings)
    bind_models(settings)
    mailer = SesMailer(aws.client(settings, "ses"), settings.ses_configuration_set)
    identity = CognitoIdentityProvider(
        aws.client(settings, "cognito-idp"),
        settings.user_pool_id,
        settings.user_pool_client_id,
        # Only against the local stand-in (moto neither mails nor checks reset codes).
        local_reset=LocalResetCodes(mailer, settings.mail_sender) if settings.endpoint_url else None,
    )
    tokens = CognitoTokenVerifier(settings.jwks_url, settings.token_issuer, settings.user_pool_client_id)
    stores = DynamoStores.on(settings)
    registry = DynamoConnectionRegistry()
    management = aws.client(settings, "apigatewaymanagementapi", endpoint_url=settings.ws_management_url)
    broadcaster = Broadcaster(registry, ApiGatewayManagementApi(management))
    workers = MediaWorkers(stores.appointments, registry, broadcaster, settings.worker_secret)
    appointments = _appointment_service(settings, stores, mailer, identity, broadcaster, registry, workers)
    files = S3FileStore(aws.client(settings, "s3"), settings.files_bucket, settings.files_kms_key_id)
    guests = _guest_service(settings, stores, appointments, mailer, broadcaster, registry)
    live, screenshots = _session_services(
        settings, read_secret, appointments, stores, registry, broadcaster, tokens, workers, files, guests
    )
    guests.removed_listener = live  # a removed guest's pages close, the worker drops the seat
    return Services(
        settings=settings,
        identity=identity,
        tokens=tokens,
        access_tokens=AccessTokenVault(DynamoSealedTokens()),
        appointments=appointments,
        live=live,
        screenshots=screenshots,
        documents=Documents(appointments, stores.documents, broadcaster, files),
        reminders=ReminderService(appointments, stores.appointments, stores.audit, mailer),
        guests=guests,
    )


def _guest_service(
    settings: Settings,
    stores: DynamoStores,
    appointments: AppointmentService,
    mailer: SesMailer,
    broadcaster: Broadcaster,
    registry: DynamoConnectionRegistry,
) -> GuestService:
    """The guests' use cases; `build` sets `removed_listener` to the live side, which needs the
    service too (a guest's link opens a websocket)."""
    return GuestService(
        appointments,
        stores.appointments,
        stores.guests,
        stores.audit,
        mailer,
        _texts(settings),
        LinkPolicy(secret=settings.link_secret, grace=settings.link_grace, base_url=settings.public_base_url),
        notifier=LiveUpdates(broadcaster, registry),
    )


def _texts(settings: Settings) -> SnsTextSender:
    return SnsTextSender(
        aws.client(settings, "sns"),
        sender_id=settings.sms_sender_id,
        origination_number=settings.sms_origination_number,
    )


def _require_settings(settings: Settings) -> None:
    if len(settings.link_secret) < MIN_LINK_SECRET_BYTES:
        raise RuntimeError("ECLINIC_LINK_SECRET must hold at least 32 bytes")
    if not settings.ws_management_url:
        raise RuntimeError("ECLINIC_WS_MANAGEMENT_URL must name the WebSocket API's management endpoint")


def _appointment_service(
    settings: Settings,
    stores: DynamoStores,
    mailer: SesMailer,
    identity: CognitoIdentityProvider,
    broadcaster: Broadcaster,
    registry: DynamoConnectionRegistry,
    workers: MediaWorkers,
) -> AppointmentService:
    """The appointment use cases with their mail, texts, events and reminder schedules; every
    stored change fans out live, and a session's end lets its media worker go."""
    return AppointmentService(
        appointment_store=stores.appointments,
        audit_log=stores.audit,
        chat_store=stores.chat,
        task_store=stores.tasks,
        mailer=mailer,
        events=EventBridgePublisher(
            aws.client(settings, "events"), settings.event_bus, settings.event_source
        ),
        group_names=identity.group_names,
        links=LinkPolicy(
            secret=settings.link_secret, grace=settings.link_grace, base_url=settings.public_base_url
        ),
        mail_sender=settings.mail_sender,
        texts=_texts(settings),
        reminder_scheduler=EventBridgeReminderScheduler(
            aws.client(settings, "scheduler"),
            settings.reminder_group,
            settings.reminder_function_arn,
            settings.reminder_role_arn,
        ),
        reminder_offsets=offsets_from_minutes(settings.reminder_offsets_minutes),
        notifier=LiveUpdates(broadcaster, registry),
        calls=workers,
    )


def _session_services(
    settings: Settings,
    read_secret: Callable[[str], str],
    appointments: AppointmentService,
    stores: DynamoStores,
    registry: DynamoConnectionRegistry,
    broadcaster: Broadcaster,
    tokens: CognitoTokenVerifier,
    workers: MediaWorkers,
    files: S3FileStore,
    guests: GuestService,
) -> tuple[LiveService, Screenshots]:
    """The running session's use cases: signalling, screenshots, and the websocket edge over them."""
    signalling = Signalling(
        appointments,
        stores.appointments,
        registry,
        broadcaster,
        workers,
        settings.ice_servers,
        turn_credentials(settings.turn_urls, settings.turn_secret, reread=_rereader(settings, read_secret)),
        ice_transport_policy=settings.ice_transport_policy,
    )
    screenshots = Screenshots(
        appointments,
        stores.appointments,
        stores.audit,
        stores.screenshots,
        broadcaster,
        files,
        workers,
        signalling,
    )
    live = LiveService(
        appointments,
        stores.appointments,
        stores.audit,
        stores.chat,
        registry,
        broadcaster,
        tokens,
        workers,
        signalling,
        screenshots,
        guests=guests,
    )
    return live, screenshots


@functools.cache
def services() -> Services:
    return build(Settings.from_env())


def _rereader(settings: Settings, read_secret: Callable[[str], str]) -> Callable[[], str] | None:
    """Reads the TURN secret's AWSCURRENT again, where it lives in Secrets Manager (it rotates)."""
    arn = settings.turn_secret_arn
    return None if arn is None else lambda: read_secret(arn)
