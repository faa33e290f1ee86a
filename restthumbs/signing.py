"""Sign and verify thumbnail specifications.

The secret of a thumbnail is the lowercase hex HMAC-SHA256 of
``"<source_path>\\0<size>\\0<method>\\0<ext>"`` computed by Django's
:func:`~django.utils.crypto.salted_hmac` with the salt ``"restthumbs.signing"``
and the current key. A versioned thumbnail's message has its version as a fifth
part, ``"...\\0<ext>\\0<version>"``: no part can hold a NUL, so the message of a
versioned thumbnail is never that of an unversioned one, whose message (and
so whose secret) is unchanged. Verification accepts the current key and every fallback
(key rotation) and always compares in constant time. Reads settings, no I/O.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes

from .conf import app_settings
from .exceptions import BadSignature
from .spec import SECRET_LENGTH, ThumbnailSpec

KEY_SALT = "restthumbs.signing"


def _message(spec: ThumbnailSpec) -> bytes:
    parts = [spec.source_path, spec.size, spec.method, spec.ext]
    if spec.version is not None:
        parts.append(spec.version)
    return "\x00".join(parts).encode()


@functools.lru_cache(maxsize=16)
def _derived_key(key: str | bytes) -> bytes:
    """The HMAC key ``salted_hmac`` derives from ``key``: computed once per key."""
    return hashlib.sha256(force_bytes(KEY_SALT) + force_bytes(key)).digest()


def _verification_keys() -> tuple[bytes, ...]:
    """The derived keys of every accepted key, built once until ``setting_changed``."""
    return app_settings.derived(
        "signing_keys", lambda: tuple(_derived_key(key) for key in app_settings.signing_keys())
    )


def _hmac(key: str | bytes, message: bytes) -> str:
    """Exactly ``salted_hmac(KEY_SALT, message, secret=key, algorithm="sha256")``."""
    return hmac.new(_derived_key(key), message, hashlib.sha256).hexdigest()


def sign(spec: ThumbnailSpec, key: str | bytes | None = None) -> str:
    """Return the secret of ``spec`` under ``key`` (default: the current key)."""
    if key is None:
        key = app_settings.signing_keys()[0]
    return _hmac(key, _message(spec))


def verify(spec: ThumbnailSpec, secret: str) -> None:
    """Raise :class:`BadSignature` unless ``secret`` signs ``spec`` under some key.

    Only the canonical spelling (64 lowercase hex digits, as ``hexdigest()``
    writes it) can compare equal, so every thumbnail has exactly one URL. Length
    and ASCII-ness are checked first: both are public, and neither needs an HMAC.
    """
    if len(secret) != SECRET_LENGTH or not secret.isascii():
        raise BadSignature()
    message = _message(spec)
    valid = False
    for key in _verification_keys():
        expected = hmac.new(key, message, hashlib.sha256).hexdigest()
        # No early exit: every key is tried, so timing says nothing about which matched.
        valid |= constant_time_compare(expected, secret)
    if not valid:
        raise BadSignature()
