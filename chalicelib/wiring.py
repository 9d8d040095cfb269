"""Builds the real adapters from the settings, once per process (a warm Lambda reuses them).

`app.py` asks for `services()` inside its handlers, so importing the app stays cheap and no
AWS client exists until a request needs one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from chalicelib import aws
from chalicelib.auth.cognito import CognitoIdentityProvider, IdentityProvider
from chalicelib.auth.tokens import CognitoTokenVerifier
from chalicelib.config import Settings
from chalicelib.events.publisher import EventBridgePublisher
from chalicelib.mail.mailer import SesMailer
from chalicelib.store.dynamo import DynamoAppointmentRepository
from chalicelib.store.models import bind_models
from chalicelib.usecases.appointments import AppointmentService, LinkPolicy

MIN_LINK_SECRET_BYTES = 32


@dataclass(frozen=True)
class Services:
    settings: Settings
    identity: IdentityProvider
    tokens: CognitoTokenVerifier
    appointments: AppointmentService


def build(settings: Settings) -> Services:
    if len(settings.link_secret) < MIN_LINK_SECRET_BYTES:
        raise RuntimeError("ECLINIC_LINK_SECRET must hold at least 32 bytes")
    bind_models(settings)
    identity = CognitoIdentityProvider(
        aws.client(settings, "cognito-idp"), settings.user_pool_id, settings.user_pool_client_id
    )
    appointments = AppointmentService(
        repository=DynamoAppointmentRepository(settings.region, settings.endpoint_url),
        mailer=SesMailer(aws.client(settings, "ses"), settings.ses_configuration_set),
        events=EventBridgePublisher(
            aws.client(settings, "events"), settings.event_bus, settings.event_source
        ),
        group_names=identity.group_names,
        links=LinkPolicy(
            secret=settings.link_secret, grace=settings.link_grace, base_url=settings.public_base_url
        ),
        mail_sender=settings.mail_sender,
    )
    return Services(
        settings=settings,
        identity=identity,
        tokens=CognitoTokenVerifier(settings.jwks_url, settings.token_issuer, settings.user_pool_client_id),
        appointments=appointments,
    )


@functools.cache
def services() -> Services:
    return build(Settings.from_env())
