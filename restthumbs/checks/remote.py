"""Checks of the remote sources' settings (docs/remote.md): mounts, rules, limits, browser.

Ids ``restthumbs.E020``-``E025``, ``W020`` and ``W021``, listed in docs/settings.md.
Nothing is checked while ``THUMBNAILS_SOURCES`` mounts no remote storage, except
the shape of ``THUMBNAILS_SOURCES`` itself.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import app_settings
from ..exceptions import InvalidSpec, ThumbnailError
from ..spec import parse_size
from ..storage.resolver import alias_backend, install_hint, storage_class

IMAGES = "restthumbs.remote.storage.RemoteImageStorage"
SITES = "restthumbs.remote.storage.WebsiteStorage"


def _mounted() -> dict[str, type]:
    """The storage classes ``THUMBNAILS_SOURCES`` mounts, by segment (the importable ones)."""
    found: dict[str, type] = {}
    sources = app_settings.raw("THUMBNAILS_SOURCES", {})
    for segment, backend in sources.items() if isinstance(sources, dict) else ():
        try:
            cls = storage_class(backend, "THUMBNAILS_SOURCES")
            found[segment] = import_string(alias_backend(backend)) if cls is None else cls
        except (ImproperlyConfigured, ImportError, TypeError, AttributeError):
            continue  # check_sources reports it
    return found


def _kinds() -> tuple[bool, bool]:
    """Whether remote images, and web pages, are mounted."""
    from ..remote.storage import RemoteImageStorage, WebsiteStorage

    classes = _mounted().values()
    return (
        any(issubclass(cls, RemoteImageStorage) for cls in classes),
        any(issubclass(cls, WebsiteStorage) for cls in classes),
    )


@register()
def check_sources(**kwargs: Any) -> list[CheckMessage]:
    sources = app_settings.raw("THUMBNAILS_SOURCES", {})
    hint = f'For example {{"remote": "{IMAGES}", "site": "{SITES}"}}.'
    if not isinstance(sources, dict):
        return [Error("THUMBNAILS_SOURCES must be a dict.", hint=hint, id="restthumbs.E020")]
    errors: list[CheckMessage] = []
    for segment, backend in sources.items():
        if not isinstance(segment, str) or segment in ("", ".", "..") or "/" in segment:
            errors.append(
                Error(
                    f"THUMBNAILS_SOURCES key {segment!r} is not one path segment.",
                    hint=hint,
                    id="restthumbs.E020",
                )
            )
            continue
        try:
            if not isinstance(backend, str):
                raise ImproperlyConfigured(f"{backend!r} is not a string")
            if storage_class(backend, f"THUMBNAILS_SOURCES[{segment!r}]") is None:
                import_string(alias_backend(backend))
        except (ImproperlyConfigured, ImportError) as e:
            extra = install_hint(e) if isinstance(e, ImportError) else ""
            errors.append(
                Error(
                    f"THUMBNAILS_SOURCES[{segment!r}]: {e}{extra}", hint=hint, id="restthumbs.E020"
                )
            )
    return errors


@register()
def check_rules(**kwargs: Any) -> list[CheckMessage]:
    images, sites = _kinds()
    if not (images or sites):
        return []
    from ..remote.policy import Prefix, parse_hosts, parse_network

    errors: list[CheckMessage] = []
    prefix_settings = [
        ("THUMBNAILS_REMOTE_ALLOWED_URLS", images),
        ("THUMBNAILS_SITE_ALLOWED_URLS", sites),
    ]
    for name, mounted in prefix_settings:
        values = app_settings.raw(name, [])
        for value in values if isinstance(values, (list, tuple)) else [values]:
            try:
                Prefix.parse(value)
            except (TypeError, ValueError, AttributeError) as e:
                errors.append(Error(f"{name}: {e}", id="restthumbs.E021"))
        if mounted and not values:
            errors.append(
                Warning(
                    f"{name} is empty: every {'image' if 'REMOTE' in name else 'page'} is refused.",
                    hint='List URL prefixes, e.g. ["https://images.example.com/"] '
                    '(["https://"]: any public https URL).',
                    id="restthumbs.W020",
                )
            )
    for name in ("THUMBNAILS_REMOTE_ALLOWED_NETWORKS", "THUMBNAILS_REMOTE_DENIED_NETWORKS"):
        for value in app_settings.raw(name, []) or []:
            try:
                parse_network(value)
            except (TypeError, ValueError) as e:
                errors.append(
                    Error(
                        f"{name}: {e}",
                        hint='Networks in CIDR notation: "10.1.2.3/32", "fd00::/8".',
                        id="restthumbs.E022",
                    )
                )
    try:
        parse_hosts(dict(app_settings.raw("THUMBNAILS_REMOTE_HOSTS", {}) or {}))
    except (ImproperlyConfigured, TypeError, ValueError) as e:
        errors.append(Error(str(e), hint='{"images.internal": ["10.1.2.3"]}', id="restthumbs.E022"))
    return errors


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


@register()
def check_limits(**kwargs: Any) -> list[CheckMessage]:
    images, sites = _kinds()
    if not (images or sites):
        return []
    errors: list[CheckMessage] = []
    for name in (
        "REMOTE_CONNECT_TIMEOUT",
        "REMOTE_TIMEOUT",
        "REMOTE_MAX_BYTES",
        "REMOTE_TTL",
        "SITE_TIMEOUT",
        "SITE_MAX_PAGES",
        "SITE_TTL",
    ):
        value = getattr(app_settings, name)
        if not _positive(value):
            errors.append(
                Error(
                    f"THUMBNAILS_{name} must be a positive number, not {value!r}.",
                    id="restthumbs.E023",
                )
            )
    redirects = app_settings.REMOTE_MAX_REDIRECTS
    if not isinstance(redirects, int) or isinstance(redirects, bool) or redirects < 0:
        errors.append(
            Error(
                f"THUMBNAILS_REMOTE_MAX_REDIRECTS must be a whole number >= 0, not {redirects!r}.",
                id="restthumbs.E023",
            )
        )
    try:
        width, height = parse_size(str(app_settings.SITE_VIEWPORT))
        if not (width and height and width <= 4096 and height <= 4096):
            raise InvalidSpec()
    except InvalidSpec:
        errors.append(
            Error(
                f"THUMBNAILS_SITE_VIEWPORT must be WxH, at most 4096x4096, "
                f"not {app_settings.SITE_VIEWPORT!r}.",
                id="restthumbs.E023",
            )
        )
    return errors + _check_timeouts(images, sites)


def _check_timeouts(images: bool, sites: bool) -> list[CheckMessage]:
    """A render lock shorter than a fetch: waiting workers give up (503) while it runs."""
    lock = app_settings.LOCK_TIMEOUT
    longest = max(
        app_settings.REMOTE_TIMEOUT if images else 0, app_settings.SITE_TIMEOUT if sites else 0
    )
    if _positive(lock) and _positive(longest) and lock < longest:
        return [
            Warning(
                f"THUMBNAILS_LOCK_TIMEOUT ({lock} s) is shorter than a remote source may take "
                f"({longest} s): requests for a thumbnail being fetched answer 503 meanwhile.",
                hint="Raise THUMBNAILS_LOCK_TIMEOUT, or lower THUMBNAILS_REMOTE_TIMEOUT / "
                "THUMBNAILS_SITE_TIMEOUT.",
                id="restthumbs.W021",
            )
        ]
    return []


@register()
def check_storage(**kwargs: Any) -> list[CheckMessage]:
    if not any(_kinds()):
        return []
    from ..remote.keep import kept_storage

    try:
        kept_storage()
    except ImproperlyConfigured as e:
        return [Error(str(e), id="restthumbs.E024")]
    return []


@register()
def check_browser(**kwargs: Any) -> list[CheckMessage]:
    if not _kinds()[1]:
        return []
    from ..remote.browser import find_browser

    try:
        find_browser(app_settings.SITE_BROWSER)
    except ThumbnailError as e:
        return [
            Error(
                f"Web page thumbnails are mounted but {e.detail}.",
                hint="Debian: apt-get install chromium",
                id="restthumbs.E025",
            )
        ]
    return []
