"""Checks of how the thumbnail view is mounted in ``ROOT_URLCONF``.

Thumbnail URLs are built from ``THUMBNAILS_PROXY_BASE_URL`` without ``reverse()``
(the thumbnail server may be another host), so nothing else notices when the
two disagree. Where that base is a path on this site, these checks resolve a
thumbnail URL built the way the tag builds it:

- ``W010``: no view answers it (``include("restthumbs.urls")`` forgotten);
- ``W011``: the view is mounted under another prefix than the base says;
- ``W012``: another route answers it first (an include after a catch-all);
- ``W013``: the mount shares its prefix with ``MEDIA_URL`` or ``STATIC_URL``, or
  a media or static file's URL would reach the thumbnail view.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from ..conf import app_settings

#: A thumbnail name as the tag writes one (the secret need not be valid to resolve).
PROBE = "restthumbs-check.jpg/100x100/crop/" + "0" * 64 + ".jpg"
#: Files as they sit below MEDIA_URL and STATIC_URL in a fresh project.
FILE_PROBES = {"MEDIA_URL": "photos/2026/12/photo.jpg", "STATIC_URL": "admin/css/base.css"}


@register(Tags.urls)
def check_mount(**kwargs: Any) -> list[CheckMessage]:
    base = app_settings.PROXY_BASE_URL
    if not isinstance(base, str) or not base.startswith("/") or base.startswith("//"):
        return []  # another host (a CDN, a thumbnail server): nothing to check here
    answered_by = _view_name(base + PROBE)
    if answered_by == "restthumbs":
        return _shadowing(base)
    try:
        mounted = reverse("restthumbs:thumbnail", kwargs={"path": PROBE})[: -len(PROBE)]
    except NoReverseMatch:
        return [
            Warning(
                f"THUMBNAILS_PROXY_BASE_URL is {base!r}, a path on this site, but no URL "
                "pattern serves thumbnails: every thumbnail answers 404.",
                hint='Add path("", include("restthumbs.urls")) to your urlpatterns, or set '
                "THUMBNAILS_PROXY_BASE_URL to the thumbnail server's address.",
                id="restthumbs.W010",
            )
        ]
    if mounted != base:
        return [
            Warning(
                f"restthumbs.urls is mounted at {mounted!r} but THUMBNAILS_PROXY_BASE_URL is "
                f"{base!r}: thumbnail URLs point where no thumbnail is served.",
                hint=f"Set THUMBNAILS_PROXY_BASE_URL = {mounted!r}.",
                id="restthumbs.W011",
            )
        ]
    return [
        Warning(
            f"A thumbnail URL ({base}{PROBE}) is answered by {answered_by or 'nothing'}, "
            "not by restthumbs: a pattern before include('restthumbs.urls') takes it "
            "(a catch-all route of a single-page app, say).",
            hint="Put include('restthumbs.urls') before the catch-all pattern.",
            id="restthumbs.W012",
        )
    ]


def _shadowing(base: str) -> list[CheckMessage]:
    warnings: list[CheckMessage] = []
    for setting, example in FILE_PROBES.items():
        prefix = app_settings.raw(setting)
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            continue
        inside = prefix != "/" and (
            base.startswith(prefix) or (prefix.startswith(base) and base != "/")
        )
        if inside or _view_name(prefix + example) == "restthumbs":
            warnings.append(
                Warning(
                    f"The thumbnail view at {base!r} overlaps {setting} ({prefix!r}): "
                    "files served there and thumbnails compete for the same URLs.",
                    hint=f"Mount restthumbs.urls under a prefix of its own (for example "
                    f"'thumbs/'), or move {setting}.",
                    id="restthumbs.W013",
                )
            )
    return warnings


def _view_name(url: str) -> str | None:
    """``"restthumbs"`` if restthumbs' view answers ``url``, else the view's name, or ``None``."""
    try:
        match = resolve(url.split("?", 1)[0])
    except Resolver404:
        return None
    from ..views import serve

    if match.func is serve:
        return "restthumbs"
    return match.view_name or getattr(match.func, "__name__", repr(match.func))
