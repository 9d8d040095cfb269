"""moto's server, in process, standing in for DynamoDB, SES, Cognito, EventBridge, EventBridge
Scheduler, SNS and S3.

`start()` runs the server on a free loopback port and `bootstrap()` creates what the CDK stack
creates on AWS: tables (from the PynamoDB models), the user pool with its app client, groups
and demo users, the verified SES sender, the event bus, the reminders' schedule group and the
private files bucket.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from chalicelib import settings_names as app_settings
from local import demo
from local import settings_names as local_settings

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
REMINDER_GROUP = "eclinic-local-reminders"
_dynamodb_lock = threading.RLock()


@dataclass
class StandIn:
    endpoint: str
    stop: Callable[[], None]


def start(port: int = 0) -> StandIn:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    # moto checks authenticator-app (TOTP) codes only when asked to; all users share one secret.
    os.environ[local_settings.MOTO_TOTP] = "true"
    serialize_dynamodb_writes()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return StandIn(endpoint=f"http://{host}:{bound}", stop=server.stop)


def serialize_dynamodb_writes() -> None:
    """Makes moto's item writes atomic, as DynamoDB's are.

    moto checks a write's condition and applies it as two steps without a lock, so two threads
    could both pass one condition; real DynamoDB never lets that happen. One lock around every
    writing call restores the property the application's conditional writes rely on.
    """
    from moto.dynamodb.models import DynamoDBBackend

    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_serialized", False):
            continue

        @functools.wraps(original)
        def serialized(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _dynamodb_lock:
                return _original(self, *args, **kwargs)

        serialized._serialized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, serialized)


def base_environment(
    endpoint: str, public_base_url: str, management_url: str | None = None
) -> dict[str, str]:
    """Environment for the app against the stand-in (credentials are moto's dummies).

    The WebSocket management API is the local gateway itself unless another is named.
    """
    return {
        app_settings.WS_MANAGEMENT_URL: management_url or public_base_url,
        app_settings.ENDPOINT_URL: endpoint,
        local_settings.ACCESS_KEY_ID: "testing",
        local_settings.SECRET_ACCESS_KEY: "testing",
        local_settings.SESSION_TOKEN: "testing",
        app_settings.REGION: REGION,
        app_settings.DEFAULT_REGION: REGION,
        app_settings.PUBLIC_BASE_URL: public_base_url,
        app_settings.LINK_SECRET: secrets.token_urlsafe(48),
        app_settings.MAIL_SENDER: "eClinic <no-reply@clinic.example>",
        app_settings.EVENT_BUS: "eclinic-local",
        # An operator (or a test) may choose the worker credential; otherwise a fresh one.
        app_settings.WORKER_SECRET: os.environ.get(app_settings.WORKER_SECRET) or secrets.token_urlsafe(32),
        app_settings.FILES_BUCKET: "eclinic-files-local",
        app_settings.ICE_SERVERS: "[]",
        # The reminder schedules' group, and what they invoke as (the local run fires them itself:
        # local/reminders.py); the offsets stay whatever ECLINIC_REMINDER_OFFSETS_MINUTES says.
        app_settings.REMINDER_GROUP: REMINDER_GROUP,
        app_settings.REMINDER_FUNCTION_ARN: (
            f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:eclinic-local-send_reminder"
        ),
        app_settings.REMINDER_ROLE_ARN: f"arn:aws:iam::{ACCOUNT_ID}:role/eclinic-local-reminders",
    }


def details(env: Mapping[str, str]) -> dict[str, str]:
    """`/_local/aws`: where the stand-in listens and the pool `bootstrap` created, so that an
    operator's own AWS commands (aws-cli, boto3; any credentials) reach the run."""
    return {
        "endpoint_url": env[app_settings.ENDPOINT_URL],
        "region": env[app_settings.REGION],
        "user_pool_id": env[app_settings.USER_POOL_ID],
        "client_id": env[app_settings.USER_POOL_CLIENT_ID],
    }


def operator_client(described: Mapping[str, str], service: str) -> Any:
    """A boto3 client on the stand-in, made as an operator would from what `/_local/aws` said."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=described["endpoint_url"],
        region_name=described["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (the stand-in takes any credentials)
    )


def bootstrap(env: MutableMapping[str, str]) -> None:
    """Creates every resource the app needs and adds the pool ids to `env`."""
    import boto3

    from chalicelib.config import Settings
    from chalicelib.store.models import create_tables

    session = boto3.session.Session(
        aws_access_key_id=env[local_settings.ACCESS_KEY_ID],
        aws_secret_access_key=env[local_settings.SECRET_ACCESS_KEY],
        region_name=env[app_settings.REGION],
    )

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=env[app_settings.ENDPOINT_URL])

    pool_id, client_id = _create_user_pool(client("cognito-idp"))
    env[app_settings.USER_POOL_ID] = pool_id
    env[app_settings.USER_POOL_CLIENT_ID] = client_id
    client("ses").verify_email_identity(EmailAddress=parseaddr(env[app_settings.MAIL_SENDER])[1])
    client("events").create_event_bus(Name=env[app_settings.EVENT_BUS])
    client("scheduler").create_schedule_group(Name=env[app_settings.REMINDER_GROUP])
    s3 = client("s3")
    s3.create_bucket(Bucket=env[app_settings.FILES_BUCKET])
    s3.put_public_access_block(
        Bucket=env[app_settings.FILES_BUCKET],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    create_tables(Settings.from_env(env))


def _create_user_pool(cognito: Any) -> tuple[str, str]:
    pool = cognito.create_user_pool(
        PoolName="eclinic-local",
        Policies={"PasswordPolicy": {"MinimumLength": 12}},
        AutoVerifiedAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        MfaConfiguration="OPTIONAL",  # as the stack's default: TOTP for whoever sets it up
    )["UserPool"]
    app_client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="eclinic-web",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        # email_verified must be in the ID token: the app refuses a token whose email is not.
        ReadAttributes=["email", "email_verified", "name"],
        # Users may not change what names them (their email could become a colleague's);
        # moto does not enforce it, the app's identity by `sub` does.
        WriteAttributes=[],
    )["UserPoolClient"]
    for group, name in demo.GROUPS.items():
        cognito.create_group(UserPoolId=pool["Id"], GroupName=group, Description=name)
    for person in demo.CLINICIANS:
        add_clinician(cognito, pool["Id"], person.email, person.name, [person.group])
    return pool["Id"], app_client["ClientId"]


def add_clinician(
    cognito: Any,
    pool_id: str,
    email: str,
    name: str,
    groups: list[str],
    temporary_password: str | None = None,
) -> None:
    """A clinician as an operator creates one. With a temporary password (as the console gives),
    their first login must set a password of their own; without, they get the demo password."""
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": name},
        ],
        MessageAction="SUPPRESS",
        **({"TemporaryPassword": temporary_password} if temporary_password else {}),
    )
    if not temporary_password:
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=demo.DEMO_PASSWORD, Permanent=True
        )
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
