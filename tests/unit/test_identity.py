"""The local run's reset codes and the access-token vault."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from chalicelib.auth.access_tokens import AccessTokenVault, MemorySealedTokens
from chalicelib.auth.password_reset import (
    RESET_CODE_TRIES,
    RESET_CODE_TTL_SECONDS,
    LocalResetCodes,
)
from chalicelib.errors import Unauthorized, ValidationFailed
from chalicelib.mail.mailer import InMemoryMailer


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
