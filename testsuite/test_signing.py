"""Tests for :mod:`restthumbs.signing`: the HMAC that keeps renders to trusted clients.

The secret format is part of the public contract (changing it breaks every URL
already published), so one test recomputes it independently with :mod:`hmac`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from django.utils import crypto

from restthumbs import signing
from restthumbs.exceptions import BadSignature
from restthumbs.signing import sign, verify
from restthumbs.spec import ThumbnailSpec, build_spec

SPEC = build_spec("animals/kitten.jpg", "100x100", "crop", "jpg")


def _reference_secret(key: str, spec: ThumbnailSpec) -> str:
    """The documented token, computed without Django: HMAC-SHA256 keyed by sha256(salt + key)."""
    derived = hashlib.sha256(("restthumbs.signing" + key).encode()).digest()
    message = "\x00".join((spec.source_path, spec.size, spec.method, spec.ext))
    return hmac.new(derived, message.encode(), hashlib.sha256).hexdigest()


# -- sign ------------------------------------------------------------------


def test_sign_is_deterministic() -> None:
    assert (
        sign(SPEC)
        == sign(SPEC)
        == sign(build_spec("animals/kitten.jpg", "100x100", "crop", ".jpg"))
    )


def test_sign_matches_the_documented_format() -> None:
    with override_settings(SECRET_KEY="documented-key"):
        assert sign(SPEC) == _reference_secret("documented-key", SPEC)


def test_sign_is_lowercase_64_hex() -> None:
    secret = sign(SPEC)
    assert re.fullmatch(r"[0-9a-f]{64}", secret)


@pytest.mark.parametrize(
    "other",
    [
        build_spec("animals/kitten.jpeg", "100x100", "crop", "jpg"),
        build_spec("animals/kitten.jpg/x", "100x100", "crop", "jpg"),
        build_spec("Animals/kitten.jpg", "100x100", "crop", "jpg"),
        build_spec("animals/kitten.jpg", "100x101", "crop", "jpg"),
        build_spec("animals/kitten.jpg", "100x", "crop", "jpg"),
        build_spec("animals/kitten.jpg", "x100", "crop", "jpg"),
        build_spec("animals/kitten.jpg", "100x100", "scale", "jpg"),
        build_spec("animals/kitten.jpg", "100x100", "smart", "jpg"),
        build_spec("animals/kitten.jpg", "100x100", "crop", "jpeg"),
        build_spec("animals/kitten.jpg", "100x100", "crop", "png"),
        build_spec("animals/kitten.jpg", "100x100", "crop", "webp"),
    ],
)
def test_every_part_of_the_spec_changes_the_secret(other: ThumbnailSpec) -> None:
    assert sign(other) != sign(SPEC)
    with pytest.raises(BadSignature):
        verify(other, sign(SPEC))


def test_the_key_changes_the_secret() -> None:
    with override_settings(SECRET_KEY="one"):
        first = sign(SPEC)
    with override_settings(SECRET_KEY="two"):
        assert sign(SPEC) != first
    assert sign(SPEC, key="one") == first


# -- verify ----------------------------------------------------------------


def test_verify_accepts_the_secret() -> None:
    verify(SPEC, sign(SPEC))


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(str.upper, id="upper"),
        pytest.param(lambda s: s[:-1], id="shorter"),
        pytest.param(lambda s: s + "0", id="longer"),
        pytest.param(lambda s: s[:40], id="sha1-length"),
        pytest.param(lambda s: s + "\n", id="trailing-newline"),
        pytest.param(lambda s: " " + s, id="leading-space"),
        pytest.param(lambda s: "g" + s[1:], id="non-hex"),
        pytest.param(lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"), id="one-digit-off"),
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: "0" * 64, id="zeros"),
        pytest.param(lambda s: "é" + s[1:], id="non-ascii-same-length"),
        pytest.param(lambda s: "\udcff" + s[1:], id="lone-surrogate-same-length"),
        pytest.param(lambda s: "٠" * 64, id="arabic-indic-digits"),
    ],
)
def test_verify_refuses_any_other_spelling(spoil: Callable[[str], str]) -> None:
    """Every thumbnail has exactly one URL: upper case or another length is a 401."""
    with pytest.raises(BadSignature):
        verify(SPEC, spoil(sign(SPEC)))


def test_rotation_takes_effect_without_restarting() -> None:
    """The derived keys are remembered per process; override_settings drops them."""
    with override_settings(SECRET_KEY="before", SECRET_KEY_FALLBACKS=[]):
        verify(SPEC, sign(SPEC))
        old = sign(SPEC)
    with override_settings(SECRET_KEY="after", SECRET_KEY_FALLBACKS=[]):
        with pytest.raises(BadSignature):
            verify(SPEC, old)
    with override_settings(SECRET_KEY="after", SECRET_KEY_FALLBACKS=["before"]):
        verify(SPEC, old)


def test_upper_case_is_refused_even_when_hex_compare_would_match() -> None:
    secret = sign(SPEC)
    assert re.search(r"[a-f]", secret), "the secret should contain a letter for this test"
    with pytest.raises(BadSignature):
        verify(SPEC, secret.upper())


# -- key rotation ----------------------------------------------------------


def test_secret_key_fallbacks_rotation() -> None:
    with override_settings(SECRET_KEY="old-key"):
        old = sign(SPEC)
    with override_settings(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["older", "old-key"]):
        verify(SPEC, old)
        assert sign(SPEC) != old  # new URLs use the new key
    with override_settings(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=[]):
        with pytest.raises(BadSignature):
            verify(SPEC, old)


def test_thumbnails_secret_key_replaces_secret_key() -> None:
    django_signed = sign(SPEC)
    with override_settings(THUMBNAILS_SECRET_KEY="thumbs-key"):
        assert sign(SPEC) != django_signed
        assert sign(SPEC) == _reference_secret("thumbs-key", SPEC)
        verify(SPEC, sign(SPEC))
        with pytest.raises(BadSignature):
            verify(SPEC, django_signed)


def test_thumbnails_secret_key_fallbacks_replace_secret_key_fallbacks() -> None:
    with override_settings(SECRET_KEY="old-django-key"):
        old = sign(SPEC)
    # SECRET_KEY_FALLBACKS no longer apply once THUMBNAILS_SECRET_KEY is set ...
    with override_settings(
        SECRET_KEY="new-django-key",
        SECRET_KEY_FALLBACKS=["old-django-key"],
        THUMBNAILS_SECRET_KEY="thumbs-key",
    ):
        with pytest.raises(BadSignature):
            verify(SPEC, old)
    # ... THUMBNAILS_SECRET_KEY_FALLBACKS do.
    with override_settings(
        THUMBNAILS_SECRET_KEY="thumbs-key", THUMBNAILS_SECRET_KEY_FALLBACKS=["old-django-key"]
    ):
        verify(SPEC, old)


def test_thumbnails_secret_key_rotation() -> None:
    with override_settings(THUMBNAILS_SECRET_KEY="thumbs-2024"):
        old = sign(SPEC)
    with override_settings(
        THUMBNAILS_SECRET_KEY="thumbs-2025", THUMBNAILS_SECRET_KEY_FALLBACKS=["thumbs-2024"]
    ):
        verify(SPEC, old)
    with override_settings(THUMBNAILS_SECRET_KEY="thumbs-2025"):
        with pytest.raises(BadSignature):
            verify(SPEC, old)


def test_thumbnails_fallbacks_without_thumbnails_key_are_ignored() -> None:
    """The misconfiguration that check W002 warns about: the fallbacks do nothing."""
    old = sign(SPEC, key="retired")
    with override_settings(THUMBNAILS_SECRET_KEY_FALLBACKS=["retired"]):
        with pytest.raises(BadSignature):
            verify(SPEC, old)


def test_bytes_keys_work() -> None:
    with override_settings(THUMBNAILS_SECRET_KEY=b"bytes-key"):
        assert sign(SPEC) == _reference_secret("bytes-key", SPEC)
        verify(SPEC, sign(SPEC))


# -- constant time ---------------------------------------------------------


@pytest.fixture
def compare_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Record every call to Django's ``constant_time_compare`` made by the signing module."""
    calls: list[tuple[Any, Any]] = []
    real = crypto.constant_time_compare

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return bool(real(a, b))

    assert signing.constant_time_compare is real  # type: ignore[attr-defined]
    monkeypatch.setattr(signing, "constant_time_compare", spy)
    return calls


@pytest.mark.parametrize("valid", [True, False])
def test_verify_compares_in_constant_time_against_every_key(
    compare_calls: list[tuple[Any, Any]], valid: bool
) -> None:
    """No early exit: timing must not tell which key matched, or whether the first did."""
    with override_settings(SECRET_KEY="current", SECRET_KEY_FALLBACKS=["old-1", "old-2"]):
        secret = sign(SPEC) if valid else sign(SPEC, key="unknown")
        if valid:
            verify(SPEC, secret)
        else:
            with pytest.raises(BadSignature):
                verify(SPEC, secret)
    assert len(compare_calls) == 3
    assert all(secret in call for call in compare_calls)


def test_verify_compares_in_constant_time_with_thumbnails_keys(
    compare_calls: list[tuple[Any, Any]],
) -> None:
    with override_settings(THUMBNAILS_SECRET_KEY="t", THUMBNAILS_SECRET_KEY_FALLBACKS=["t0"]):
        verify(SPEC, sign(SPEC, key="t0"))
    assert len(compare_calls) == 2
