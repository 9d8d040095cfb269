"""The identity fake's challenges and resets, and the local run's reset codes."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from chalicelib.auth.access_tokens import AccessTokenVault, MemorySealedTokens
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
    assert isinstance(done, LoginResult) and done.id_token == "tok"
    again = fake.login("n@x.example", "Long-Enough-Pass")
    assert isinstance(again, LoginResult) and again.id_token == "tok"


def test_fake_reset() -> None:
    fake = StaticIdentityProvider({("a@x.example", "old"): "tok"}, {})
    fake.forgot("nobody@x.example")
    fake.forgot("a@x.example")
    assert list(fake.reset_codes) == ["a@x.example"]
    with pytest.raises(ValidationFailed) as wrong:
        fake.reset("a@x.example", "000000x", "Long-Enough-Pass")
    assert wrong.value.field == "code"
    fake.reset("a@x.example", fake.reset_codes["a@x.example"], "Long-Enough-Pass")
    after = fake.login("a@x.example", "Long-Enough-Pass")
    assert isinstance(after, LoginResult) and after.id_token == "tok"
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


def test_fake_totp_needs_a_logins_access_token_and_the_right_code() -> None:
    fake = StaticIdentityProvider({("a@x.example", "pw"): "tok"}, {})
    login = fake.login("a@x.example", "pw")
    assert isinstance(login, LoginResult) and login.access_token
    with pytest.raises(Unauthorized):
        fake.start_totp("not-a-logins-token")
    assert fake.start_totp(login.access_token)
    with pytest.raises(ValidationFailed) as wrong:
        fake.verify_totp(login.access_token, "000000")
    assert wrong.value.field == "code" and not fake.mfa_users
    fake.verify_totp(login.access_token, "123456")
    assert fake.mfa_users == {"a@x.example"}


def test_vault_opens_only_with_the_id_token_that_kept_the_access_token() -> None:
    store = MemorySealedTokens()
    clock = Clock()
    vault = AccessTokenVault(store, clock)
    vault.keep("id-token-one", "access-one", expires_in=3600)
    vault.keep("id-token-two", "access-two", expires_in=3600)
    assert vault.open("id-token-one") == "access-one"
    assert vault.open("id-token-two") == "access-two"
    # What the table holds names neither token.
    for lookup, (sealed, _) in store.entries.items():
        assert "id-token" not in lookup and "access" not in sealed
    with pytest.raises(Unauthorized):
        vault.open("id-token-three")


def test_vault_refuses_an_expired_or_tampered_entry() -> None:
    store = MemorySealedTokens()
    clock = Clock()
    vault = AccessTokenVault(store, clock)
    vault.keep("id-a", "access-a", expires_in=60)
    vault.keep("id-b", "access-b", expires_in=3600)
    clock.now += 61
    with pytest.raises(Unauthorized):
        vault.open("id-a")
    # An entry moved under another lookup does not open with that lookup's token.
    (_, entry_a), (lookup_b, _) = store.entries.items()
    store.entries[lookup_b] = (entry_a[0], entry_a[1] + 3600)
    with pytest.raises(Unauthorized):
        vault.open("id-b")
