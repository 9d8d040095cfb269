"""The SES, EventBridge and Cognito adapters against moto's server."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage

import pytest

from chalicelib import aws as aws_clients
from chalicelib.auth.cognito import CognitoIdentityProvider, LoginResult
from chalicelib.config import Settings
from chalicelib.errors import Unauthorized
from chalicelib.events.publisher import EventBridgePublisher
from chalicelib.mail.mailer import MailRejected, SesMailer
from local import mailbox
from tests.conftest import AwsStack


def simple_mail(sender: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, "Hello"
    message.set_content("text part")
    message.add_alternative("<p>html part</p>", subtype="html")
    return message


def test_ses_mailer_sends_raw_mail_that_the_mailbox_shows(aws: AwsStack) -> None:
    settings = Settings.from_env()
    mailer = SesMailer(aws_clients.client(settings, "ses"))
    message_id = mailer.send(simple_mail(settings.mail_sender, "Pat Doe <pat.adapter@example.com>"))
    shown = [m for m in mailbox.messages() if m["id"] == message_id]
    assert shown and shown[0]["to"] == ["pat.adapter@example.com"]
    assert shown[0]["text"].strip() == "text part" and "html part" in shown[0]["html"]


def test_ses_refusal_becomes_mail_rejected(aws: AwsStack) -> None:
    settings = Settings.from_env()
    mailer = SesMailer(aws_clients.client(settings, "ses"))
    with pytest.raises(MailRejected) as raised:
        mailer.send(simple_mail("unverified@elsewhere.example", "pat@example.com"))
    assert raised.value.reason == "MessageRejected"


def test_eventbridge_publisher_delivers_to_a_rule_target(aws: AwsStack) -> None:
    settings = Settings.from_env()
    sqs, events = aws.client("sqs"), aws.client("events")
    queue_url = sqs.create_queue(QueueName="document-workflow")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="tasks",
        EventBusName=settings.event_bus,
        EventPattern=json.dumps({"source": [settings.event_source], "detail-type": ["TaskCreated"]}),
    )
    events.put_targets(Rule="tasks", EventBusName=settings.event_bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    publisher = EventBridgePublisher(
        aws_clients.client(settings, "events"), settings.event_bus, settings.event_source
    )
    publisher.publish("TaskCreated", {"task": {"id": "t-1", "title": "Letter"}})
    deadline = time.monotonic() + 5
    received: list[dict[str, object]] = []
    while not received and time.monotonic() < deadline:
        received = [
            json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
        ]
    (event,) = received
    assert event["detail-type"] == "TaskCreated" and event["source"] == "eclinic.appointments"
    assert event["detail"] == {"task": {"id": "t-1", "title": "Letter"}}


def test_cognito_login_and_group_names(aws: AwsStack) -> None:
    settings = Settings.from_env()
    identity = CognitoIdentityProvider(
        aws_clients.client(settings, "cognito-idp"), settings.user_pool_id, settings.user_pool_client_id
    )
    result = identity.login("ada@clinic.example", "Clinic-Demo-2026!")
    assert isinstance(result, LoginResult)
    assert result.id_token.count(".") == 2 and result.expires_in > 0
    assert identity.group_names() == {"cardiology": "Cardiology", "dermatology": "Dermatology"}
    for email, password in (("ada@clinic.example", "wrong"), ("nobody@clinic.example", "Clinic-Demo-2026!")):
        with pytest.raises(Unauthorized):
            identity.login(email, password)


def test_s3_file_store_deletes_what_it_put(aws: AwsStack) -> None:
    from chalicelib.files.storage import S3FileStore

    settings = Settings.from_env()
    s3 = aws_clients.client(settings, "s3")
    store = S3FileStore(s3, settings.files_bucket, settings.files_kms_key_id)
    store.put("screenshots/a/late.jpg", b"\xff\xd8 picture", "image/jpeg")
    assert s3.head_object(Bucket=settings.files_bucket, Key="screenshots/a/late.jpg")["ContentLength"] == len(
        b"\xff\xd8 picture"
    )
    store.delete("screenshots/a/late.jpg")
    store.delete("screenshots/a/never-there.jpg")  # not an error
    listed = s3.list_objects_v2(Bucket=settings.files_bucket, Prefix="screenshots/a/")
    assert listed.get("KeyCount", 0) == 0


def test_sealed_access_tokens_in_dynamodb(aws: AwsStack) -> None:
    from chalicelib.auth.access_tokens import AccessTokenVault, DynamoSealedTokens
    from chalicelib.store.models import SealedAccessTokenModel

    vault = AccessTokenVault(DynamoSealedTokens())
    id_token = f"id-token-{time.time_ns()}"
    before = {item.lookup for item in SealedAccessTokenModel.scan()}
    vault.keep(id_token, "the-access-token", expires_in=3600)
    assert vault.open(id_token) == "the-access-token"
    (item,) = [i for i in SealedAccessTokenModel.scan() if i.lookup not in before]
    assert id_token not in item.lookup and "the-access-token" not in item.sealed
    assert abs(item.expires_at.timestamp() - time.time() - 3600) < 60
    with pytest.raises(Unauthorized):
        vault.open(id_token + "x")
