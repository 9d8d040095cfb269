"""The SNS text adapter against moto's server: texts arrive in the local outbox, and a number
on the opt-out list (moto: every number ending in 99) is never texted."""

from __future__ import annotations

import pytest

from chalicelib import aws as aws_clients
from chalicelib.config import Settings
from chalicelib.texts.sender import OptedOut, SnsTextSender
from local import texts
from tests.conftest import AwsStack


def test_a_text_reaches_the_local_outbox(aws: AwsStack) -> None:
    sender = SnsTextSender(aws_clients.client(Settings.from_env(), "sns"), sender_id="eClinic")
    message_id = sender.send("+49301234567", "Your video appointment: https://example.test/visit/x")
    (shown,) = [m for m in texts.messages() if m["id"] == message_id]
    assert shown["to"] == "+49301234567" and shown["text"].startswith("Your video appointment")
    assert shown["sent_at"].endswith("Z")


def test_an_opted_out_number_is_not_texted(aws: AwsStack) -> None:
    sender = SnsTextSender(aws_clients.client(Settings.from_env(), "sns"))
    before = len(texts.messages())
    with pytest.raises(OptedOut):
        sender.send("+49301234599", "Hello")
    assert len(texts.messages()) == before
