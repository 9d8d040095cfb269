"""Settings, read once from the environment.

The same code runs on AWS and in the local run; only these values differ (endpoints,
names, credentials). Nothing here creates a client or touches the network. The variables'
names are in chalicelib.settings_names, which the stack and the local run import too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from chalicelib import settings_names as names


@dataclass(frozen=True)
class Settings:
    region: str
    endpoint_url: str | None
    appointments_table: str
    audit_table: str
    tasks_table: str
    connections_table: str
    messages_table: str
    screenshots_table: str
    documents_table: str
    logins_table: str
    guests_table: str
    user_pool_id: str
    user_pool_client_id: str
    jwks_url: str
    mail_sender: str
    ses_configuration_set: str | None
    event_bus: str
    event_source: str
    public_base_url: str
    link_secret: bytes
    link_grace: timedelta
    ws_management_url: str | None
    ws_url: str | None
    worker_secret: str
    ice_servers: tuple[dict[str, object], ...]
    files_bucket: str
    files_kms_key_id: str | None
    # On AWS, secrets come from Secrets Manager and the APIs' URLs from one SSM parameter
    # (the functions cannot name their own APIs in their environment: that would be a cycle).
    link_secret_arn: str | None = None
    worker_secret_arn: str | None = None
    endpoints_parameter: str | None = None
    turn_urls: tuple[str, ...] = ()
    # The secret shared with the TURN servers (coturn's static-auth-secret), from which each call
    # gets credentials of its own; on AWS named by its Secrets Manager ARN.
    turn_secret: str = ""
    turn_secret_arn: str | None = None
    # `relay`: the pages' peer connections use relayed (TURN) candidates only; `all` (default).
    ice_transport_policy: str = "all"
    # Texts (SNS): an alphanumeric sender ID and/or an origination number (E.164), as the
    # destination countries require (README, "Texts (SMS)"); neither: SNS picks.
    sms_sender_id: str | None = None
    sms_origination_number: str | None = None
    # Reminders: minutes before the start (24 hours and 1 hour by default), the EventBridge
    # Scheduler group that holds their schedules, the function they invoke and the role they
    # invoke it with. On AWS the function's ARN comes with the endpoints parameter.
    reminder_offsets_minutes: tuple[int, ...] = (1440, 60)
    reminder_group: str = "eclinic-reminders"
    reminder_function_arn: str = ""
    reminder_role_arn: str = ""

    @property
    def files_origin(self) -> str:
        """Where the browser fetches short-lived file links from."""
        if self.endpoint_url:
            return self.endpoint_url.rstrip("/")
        return f"https://{self.files_bucket}.s3.{self.region}.amazonaws.com https://*.s3.amazonaws.com"

    @property
    def token_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        region = env.get(names.REGION) or env.get(names.DEFAULT_REGION) or "us-east-1"
        endpoint = env.get(names.ENDPOINT_URL) or None
        pool_id = env.get(names.USER_POOL_ID, "")
        cognito_base = endpoint or f"https://cognito-idp.{region}.amazonaws.com"
        prefix = env.get(names.TABLE_PREFIX, "eclinic-")
        return cls(
            region=region,
            endpoint_url=endpoint,
            appointments_table=prefix + "appointments",
            audit_table=prefix + "audit",
            tasks_table=prefix + "tasks",
            connections_table=prefix + "connections",
            messages_table=prefix + "messages",
            screenshots_table=prefix + "screenshots",
            documents_table=prefix + "documents",
            logins_table=prefix + "logins",
            guests_table=prefix + "guests",
            user_pool_id=pool_id,
            user_pool_client_id=env.get(names.USER_POOL_CLIENT_ID, ""),
            jwks_url=env.get(names.JWKS_URL) or f"{cognito_base.rstrip('/')}/{pool_id}/.well-known/jwks.json",
            mail_sender=env.get(names.MAIL_SENDER, "eClinic <no-reply@clinic.example>"),
            ses_configuration_set=env.get(names.SES_CONFIGURATION_SET) or None,
            event_bus=env.get(names.EVENT_BUS, "default"),
            event_source=env.get(names.EVENT_SOURCE, "eclinic.appointments"),
            public_base_url=env.get(names.PUBLIC_BASE_URL, "http://127.0.0.1:8000").rstrip("/"),
            link_secret=env.get(names.LINK_SECRET, "").encode(),
            link_grace=timedelta(minutes=int(env.get(names.LINK_GRACE_MINUTES, "120"))),
            # The API Gateway management API (https://{api-id}.execute-api.{region}.amazonaws.com/{stage});
            # from configuration so that REST handlers can push, not only websocket handlers.
            ws_management_url=env.get(names.WS_MANAGEMENT_URL) or None,
            # What pages connect to; empty means "this host, path /ws" (the local run).
            ws_url=env.get(names.WS_URL) or None,
            # The media workers' shared credential (a Secrets Manager value on AWS).
            worker_secret=env.get(names.WORKER_SECRET, ""),
            # STUN/TURN for the browsers, as RTCIceServer objects: [{"urls": [...], ...}].
            ice_servers=tuple(json.loads(env.get(names.ICE_SERVERS) or "[]")),
            files_bucket=env.get(names.FILES_BUCKET, "eclinic-files"),
            files_kms_key_id=env.get(names.FILES_KMS_KEY_ID) or None,
            link_secret_arn=env.get(names.LINK_SECRET_ARN) or None,
            worker_secret_arn=env.get(names.WORKER_SECRET_ARN) or None,
            endpoints_parameter=env.get(names.ENDPOINTS_PARAMETER) or None,
            turn_urls=tuple(u.strip() for u in env.get(names.TURN_URLS, "").split(",") if u.strip()),
            turn_secret=env.get(names.TURN_SECRET, ""),
            turn_secret_arn=env.get(names.TURN_SECRET_ARN) or None,
            ice_transport_policy=_ice_transport_policy(env.get(names.ICE_TRANSPORT_POLICY) or "all"),
            sms_sender_id=env.get(names.SMS_SENDER_ID) or None,
            sms_origination_number=env.get(names.SMS_ORIGINATION_NUMBER) or None,
            reminder_offsets_minutes=_reminder_offsets(env.get(names.REMINDER_OFFSETS_MINUTES) or "1440,60"),
            reminder_group=env.get(names.REMINDER_GROUP) or "eclinic-reminders",
            reminder_function_arn=env.get(names.REMINDER_FUNCTION_ARN, ""),
            reminder_role_arn=env.get(names.REMINDER_ROLE_ARN, ""),
        )

    def resolved(self, secret: Callable[[str], str], parameter: Callable[[str], str]) -> Settings:
        """These settings with secrets and endpoints looked up where they are only named."""
        changes: dict[str, Any] = {}
        if self.link_secret_arn and not self.link_secret:
            changes["link_secret"] = secret(self.link_secret_arn).encode()
        if self.worker_secret_arn and not self.worker_secret:
            changes["worker_secret"] = secret(self.worker_secret_arn)
        if self.endpoints_parameter:
            endpoints = json.loads(parameter(self.endpoints_parameter))
            changes["public_base_url"] = str(endpoints["public_base_url"]).rstrip("/")
            changes["ws_url"] = endpoints.get("ws_url") or self.ws_url
            changes["ws_management_url"] = endpoints.get("ws_management_url") or self.ws_management_url
            changes["reminder_function_arn"] = (
                endpoints.get("reminder_function_arn") or self.reminder_function_arn
            )
        if self.turn_urls and self.turn_secret_arn and not self.turn_secret:
            changes["turn_secret"] = secret(self.turn_secret_arn)
        return replace(self, **changes) if changes else self


ICE_TRANSPORT_POLICIES = ("all", "relay")


def _ice_transport_policy(value: str) -> str:
    """RTCIceTransportPolicy; a wrong value stops the start rather than every call later."""
    if value not in ICE_TRANSPORT_POLICIES:
        raise ValueError(
            f"{names.ICE_TRANSPORT_POLICY} must be one of {', '.join(ICE_TRANSPORT_POLICIES)}, not {value!r}"
        )
    return value


REMINDER_OFFSET_MAX_MINUTES = 7 * 24 * 60


def _reminder_offsets(value: str) -> tuple[int, ...]:
    """`1440,60`: minutes before the start, each once, 1 to a week. A wrong value stops the start
    rather than every invitation later."""
    try:
        minutes = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(
            f"{names.REMINDER_OFFSETS_MINUTES} must be minutes like 1440,60, not {value!r}"
        ) from exc
    if len(set(minutes)) != len(minutes) or not all(1 <= m <= REMINDER_OFFSET_MAX_MINUTES for m in minutes):
        raise ValueError(
            f"{names.REMINDER_OFFSETS_MINUTES} must list different minutes between 1 and "
            f"{REMINDER_OFFSET_MAX_MINUTES}, not {value!r}"
        )
    return minutes
