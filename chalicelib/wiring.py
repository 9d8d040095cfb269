"""Builds the real adapters from the settings, once per process (a warm Lambda reuses them).

`app.py` asks for `services()` inside its handlers, so importing the app stays cheap and no
AWS client exists until a request needs one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib import aws
from chalicelib.auth.access_tokens import AccessTokenVault, DynamoSealedTokens
from chalicelib.auth.cognito import CognitoIdentityProvider, IdentityProvider, LocalResetCodes
from chalicelib.auth.tokens import CognitoTokenVerifier
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
from chalicelib.store.dynamo import DynamoAppointmentRepository
from chalicelib.store.models import bind_models
from chalicelib.texts.sender import SnsTextSender
from chalicelib.usecases.appointments import AppointmentService, LinkPolicy
from chalicelib.usecases.live import LiveService
from chalicelib.usecases.media import MediaService
from chalicelib.usecases.reminders import ReminderService

MIN_LINK_SECRET_BYTES = 32


@dataclass(frozen=True)
class Services:
    settings: Settings
    identity: IdentityProvider
    tokens: CognitoTokenVerifier
    access_tokens: AccessTokenVault
    appointments: AppointmentService
    live: LiveService
    media: MediaService
    reminders: ReminderService


def build(settings: Settings) -> Services:
    def read_secret(arn: str) -> str:
        return str(aws.client(settings, "secretsmanager").get_secret_value(SecretId=arn)["SecretString"])

    settings = settings.resolved(
        secret=read_secret,
        parameter=lambda name: str(
            aws.client(settings, "ssm").get_parameter(Name=name)["Parameter"]["Value"]
        ),
    )
    if len(settings.link_secret) < MIN_LINK_SECRET_BYTES:
        raise RuntimeError("ECLINIC_LINK_SECRET must hold at least 32 bytes")
    if not settings.ws_management_url:
        raise RuntimeError("ECLINIC_WS_MANAGEMENT_URL must name the WebSocket API's management endpoint")
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
    repository = DynamoAppointmentRepository(settings.region, settings.endpoint_url)
    registry = DynamoConnectionRegistry()
    broadcaster = Broadcaster(
        registry,
        ApiGatewayManagementApi(
            aws.client(settings, "apigatewaymanagementapi", endpoint_url=settings.ws_management_url)
        ),
    )
    appointments = AppointmentService(
        repository=repository,
        mailer=mailer,
        events=EventBridgePublisher(
            aws.client(settings, "events"), settings.event_bus, settings.event_source
        ),
        group_names=identity.group_names,
        links=LinkPolicy(
            secret=settings.link_secret, grace=settings.link_grace, base_url=settings.public_base_url
        ),
        mail_sender=settings.mail_sender,
        texts=SnsTextSender(
            aws.client(settings, "sns"),
            sender_id=settings.sms_sender_id,
            origination_number=settings.sms_origination_number,
        ),
        reminder_scheduler=EventBridgeReminderScheduler(
            aws.client(settings, "scheduler"),
            settings.reminder_group,
            settings.reminder_function_arn,
            settings.reminder_role_arn,
        ),
        reminder_offsets=offsets_from_minutes(settings.reminder_offsets_minutes),
        notifier=LiveUpdates(broadcaster, registry),
    )
    media = MediaService(
        appointments,
        repository,
        registry,
        broadcaster,
        S3FileStore(aws.client(settings, "s3"), settings.files_bucket, settings.files_kms_key_id),
        settings.worker_secret,
        settings.ice_servers,
        turn_credentials(settings.turn_urls, settings.turn_secret, reread=_rereader(settings, read_secret)),
        ice_transport_policy=settings.ice_transport_policy,
    )
    live = LiveService(appointments, repository, registry, broadcaster, tokens, media)
    return Services(
        settings=settings,
        identity=identity,
        tokens=tokens,
        access_tokens=AccessTokenVault(DynamoSealedTokens()),
        appointments=appointments,
        live=live,
        media=media,
        reminders=ReminderService(appointments, repository, mailer),
    )


@functools.cache
def services() -> Services:
    return build(Settings.from_env())


def _rereader(settings: Settings, read_secret: Callable[[str], str]) -> Callable[[], str] | None:
    """Reads the TURN secret's AWSCURRENT again, where it lives in Secrets Manager (it rotates)."""
    arn = settings.turn_secret_arn
    return None if arn is None else lambda: read_secret(arn)
