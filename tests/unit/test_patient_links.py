from __future__ import annotations

from chalicelib.auth import patient_links


def test_token_is_256_bits_reproducible_and_only_its_hash_is_kept() -> None:
    nonce = patient_links.new_nonce()
    token = patient_links.token_for(b"k" * 32, "appointment-1", nonce)
    assert len(token) == patient_links.TOKEN_CHARS == 43  # 32 bytes, base64url
    assert patient_links.looks_like_token(token)
    assert token == patient_links.token_for(b"k" * 32, "appointment-1", nonce)
    assert token != patient_links.token_for(b"j" * 32, "appointment-1", nonce)
    assert token != patient_links.token_for(b"k" * 32, "appointment-1", patient_links.new_nonce())
    digest = patient_links.hash_token(token)
    assert len(digest) == 64 and token not in digest


def test_shape_check_rejects_junk() -> None:
    for junk in ("", "x" * 42, "x" * 44, "!" * 43, "../" + "a" * 40):
        assert not patient_links.looks_like_token(junk)
