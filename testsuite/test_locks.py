"""Tests for :mod:`restthumbs.locks`: one renderer per thumbnail, owner-only release, expiry.

The unreachable cache is real: Django's ``PyMemcacheCache`` pointed at a
loopback port on which nothing listens.
"""

from __future__ import annotations

import socket
import string
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import memcache_key_warnings
from django.test import override_settings

from restthumbs.locks import CacheLock, LockUnavailable, lock_key

from . import harness

KEY = lock_key("restthumbs", "animals/kitten.jpg/100x100/crop/" + "a" * 64 + ".jpg")


# -- acquire / release -----------------------------------------------------


def test_acquire_once() -> None:
    lock = CacheLock("default", KEY, 10)
    assert lock.acquire() is True
    assert lock.held
    assert caches["default"].get(KEY) == lock.token
    assert not lock.is_free()


def test_second_instance_is_refused() -> None:
    first, second = CacheLock("default", KEY, 10), CacheLock("default", KEY, 10)
    assert first.acquire()
    assert second.acquire() is False
    assert not second.held
    assert caches["default"].get(KEY) == first.token


def test_tokens_are_unique_per_instance() -> None:
    tokens = {CacheLock("default", KEY, 10).token for _ in range(100)}
    assert len(tokens) == 100


def test_release_by_the_owner_frees_the_lock() -> None:
    first, second = CacheLock("default", KEY, 10), CacheLock("default", KEY, 10)
    assert first.acquire()
    first.release()
    assert not first.held
    assert first.is_free()
    assert second.acquire()


def test_release_by_another_instance_does_nothing() -> None:
    owner, other = CacheLock("default", KEY, 10), CacheLock("default", KEY, 10)
    assert owner.acquire()
    assert not other.acquire()
    other.release()
    assert caches["default"].get(KEY) == owner.token


def test_release_checks_the_token_not_just_the_flag() -> None:
    """An instance that believes it holds the lock must not delete another owner's key."""
    owner, stale = CacheLock("default", KEY, 10), CacheLock("default", KEY, 10)
    assert owner.acquire()
    stale.held = True  # e.g. its own lock expired and someone else took it
    stale.release()
    assert caches["default"].get(KEY) == owner.token


def test_release_twice_is_harmless() -> None:
    lock = CacheLock("default", KEY, 10)
    assert lock.acquire()
    lock.release()
    lock.release()
    assert lock.is_free()


def test_lock_expires_after_its_timeout() -> None:
    """A worker that dies mid-render blocks the others no longer than the timeout."""
    dead, waiting = CacheLock("default", KEY, 1), CacheLock("default", KEY, 1)
    assert dead.acquire()
    assert not waiting.acquire()
    time.sleep(1.1)
    assert waiting.is_free()
    assert waiting.acquire()
    # The first holder finishing late must not free the new holder's lock.
    dead.release()
    assert caches["default"].get(KEY) == waiting.token


@pytest.mark.parametrize(("given", "expected"), [(0.01, 1), (0.5, 1), (1, 1), (2.5, 3), (10, 10)])
def test_timeout_is_whole_seconds_never_zero(given: float, expected: int) -> None:
    """0 means "forever" on memcached, and sub-second timeouts are rounded there."""
    assert CacheLock("default", KEY, given).timeout == expected


def test_locks_are_per_key() -> None:
    a = CacheLock("default", lock_key("restthumbs", "a.jpg/1x1/crop/s.jpg"), 10)
    b = CacheLock("default", lock_key("restthumbs", "b.jpg/1x1/crop/s.jpg"), 10)
    assert a.acquire() and b.acquire()


def test_lock_lives_in_the_named_cache() -> None:
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "d"},
        "locks": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "l"},
    }
    with override_settings(CACHES=caches_setting):
        lock = CacheLock("locks", KEY, 10)
        assert lock.acquire()
        assert caches["locks"].get(KEY) == lock.token
        assert caches["default"].get(KEY) is None
        lock.release()


# -- lock_key --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "a.jpg/1x1/crop/s.jpg",
        "kätzchen/schöne Katze.jpg/100x100/crop/s.jpg",
        "猫/写真 1.png/x64/smart/s.webp",
        "tabs\tand\nnewlines\x7f\x01.jpg/1x1/crop/s.jpg",
        "🐱" * 500 + "/1x1/crop/s.jpg",
        "a" * 10_000,
    ],
)
def test_lock_key_is_memcached_safe(name: str) -> None:
    key = lock_key("restthumbs", name)
    assert key.isascii()
    assert not set(key) & set(string.whitespace)
    assert all(32 < ord(c) < 127 for c in key)
    assert len(key) < 250
    assert key.startswith("restthumbs:")
    # Django's own memcached rules, on the key as the cache really stores it.
    assert list(memcache_key_warnings(caches["default"].make_key(key))) == []
    # LocMemCache warns (an error under filterwarnings=error) on unsafe keys: use it for real.
    lock = CacheLock("default", key, 10)
    assert lock.acquire()
    lock.release()


def test_lock_key_is_deterministic_and_distinct() -> None:
    names = [f"dir/{i}.jpg/100x100/crop/s.jpg" for i in range(200)] + [
        "ä.jpg/1x1/crop/s.jpg",
        "a.jpg/1x1/crop/s.jpg",
    ]
    keys = [lock_key("restthumbs", n) for n in names]
    assert keys == [lock_key("restthumbs", n) for n in names]
    assert len(set(keys)) == len(names)
    assert lock_key("site1", names[0]) != lock_key("site2", names[0])
    assert lock_key("site1", names[0]).startswith("site1:")


# -- unreachable cache -----------------------------------------------------


def _closed_port() -> int:
    """A loopback port on which nothing listens (bound, then released at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def unreachable_memcached() -> Iterator[str]:
    harness.require_module("pymemcache")
    caches_setting: dict[str, Any] = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "memcached": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": f"127.0.0.1:{_closed_port()}",
            "OPTIONS": {
                "connect_timeout": 0.5,
                "timeout": 0.5,
                # pymemcache's HashClient otherwise answers from defaults (add() -> False,
                # get() -> None) while a failed server waits for its retry, which looks
                # like "held by someone else" rather than "unreachable".
                "retry_attempts": 0,
            },
        },
    }
    with override_settings(CACHES=caches_setting):
        yield "memcached"


def test_unreachable_cache_raises_lock_unavailable(unreachable_memcached: str) -> None:
    lock = CacheLock(unreachable_memcached, KEY, 10)
    start = time.monotonic()
    for _ in range(3):  # the first refusal and every later call alike
        with pytest.raises(LockUnavailable) as info:
            lock.acquire()
        assert info.value.__cause__ is not None
        assert not lock.held
    with pytest.raises(LockUnavailable):
        lock.is_free()
    assert time.monotonic() - start < 5


def test_release_on_an_unreachable_cache_does_not_raise(unreachable_memcached: str) -> None:
    """Release is best effort: the render already succeeded, the lock will expire."""
    lock = CacheLock(unreachable_memcached, KEY, 10)
    lock.held = True
    lock.release()
    assert not lock.held
