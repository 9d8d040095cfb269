"""The identity fake's challenges and resets, and the local run's reset codes."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from chalicelib.auth.cognito import (
    RESET_CODE_TRIES,
    RESET_CODE_TTL_SECONDS,
    Challenge,
    LocalResetCodes,
    LoginResult,
    StaticIdentityProvider,
)
from chalicelib.errors import Unauthorized, ValidationFailed
from chalicelib.mail.mailer import InMemoryMailer


def test_fake_first_login_answers_a_challenge_then_a_token() -> None:
    fake = StaticIdentityProvider({}, {}, temporary={("n@x.example", "temp"): "tok"})
    challenge = fake.login("n@x.example", "temp")
    assert isinstance(challenge, Challenge) and challenge.name == "new_password_required"
    with pytest.raises(ValidationFailed) as weak:
        fake.respond("n@x.example", challenge.session, "short", "")
    assert weak.value.field == "new_password"
    with pytest.raises(Unauthorized):
        fake.respond("n@x.example", "stale", "Long-Enough-Pass", "")
    done = fake.respond("n@x.example", challenge.session, "Long-Enough-Pass", "")
    assert done == LoginResult(id_token="tok", expires_in=3600)
    assert fake.login("n@x.example", "Long-Enough-Pass") == done


def test_fake_reset() -> None:
    fake = StaticIdentityProvider({("a@x.example", "old"): "tok"}, {})
    fake.forgot("nobody@x.example")
    fake.forgot("a@x.example")
    assert list(fake.reset_codes) == ["a@x.example"]
    with pytest.raises(ValidationFailed) as wrong:
        fake.reset("a@x.example", "000000x", "Long-Enough-Pass")
    assert wrong.value.field == "code"
    fake.reset("a@x.example", fake.reset_codes["a@x.example"], "Long-Enough-Pass")
    assert fake.login("a@x.example", "Long-Enough-Pass") == LoginResult("tok", 3600)
    with pytest.raises(Unauthorized):
        fake.login("a@x.example", "old")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_local_reset_codes_mail_the_code_and_check_it_once() -> None:
    mailer = InMemoryMailer()
    codes = LocalResetCodes(mailer, "eClinic <no-reply@clinic.example>", Clock())
    codes.issue("A@x.example", "123456")
    message = mailer.sent[0]
    assert isinstance(message, EmailMessage) and message["To"] == "A@x.example"
    assert "123456" in message.get_content()
    with pytest.raises(ValidationFailed):
        codes.check("a@x.example", "654321")
    codes.check("a@x.example", "123456")
    with pytest.raises(ValidationFailed):  # used up
        codes.check("a@x.example", "123456")


def test_local_reset_codes_expire_and_stop_after_too_many_tries() -> None:
    clock = Clock()
    codes = LocalResetCodes(InMemoryMailer(), "no-reply@clinic.example", clock)
    codes.issue("a@x.example", "123456")
    clock.now += RESET_CODE_TTL_SECONDS + 1
    with pytest.raises(ValidationFailed) as late:
        codes.check("a@x.example", "123456")
    assert late.value.field == "code"
    codes.issue("a@x.example", "123456")
    for _ in range(RESET_CODE_TRIES):
        with pytest.raises(ValidationFailed):
            codes.check("a@x.example", "000000")
    with pytest.raises(ValidationFailed):
        codes.check("a@x.example", "123456")


def test_fake_totp_needs_the_users_access_token_and_the_right_code() -> None:
    fake = StaticIdentityProvider({}, {})
    with pytest.raises(Unauthorized):
        fake.start_totp("access-someone-else", "u-1")
    assert fake.start_totp("access-u-1", "u-1")
    with pytest.raises(ValidationFailed) as wrong:
        fake.verify_totp("access-u-1", "u-1", "000000")
    assert wrong.value.field == "code" and not fake.mfa_users
    fake.verify_totp("access-u-1", "u-1", "123456")
    assert fake.mfa_users == {"u-1"}
