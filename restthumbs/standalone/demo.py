"""The demo page of ``restthumbs serve --demo``: a grid of samples, responsive tags, a form.

Every ``<img>`` points at a URL signed by this server and served by the normal
restthumbs view, so the page shows exactly what a client of the server gets.
The form signs whatever it is given, which is why the demo is for local use
only and is never part of ``restthumbs.urls``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import render
from django.template import engines
from django.utils.translation import gettext as _

from ..api import thumbnail
from ..conf import app_settings
from ..engine import can_encode
from ..exceptions import ThumbnailError
from ..spec import EXTENSIONS, METHODS
from ..storage import source_storage
from .demo_site import site_form

#: The sizes of the grid: a square box, a wide banner (where crop and smart
#: differ most) and a height only (where all three methods agree).
GRID_SIZES = ("100x100", "240x100", "x150")

#: The responsive tags shown on the first sample: (title, template code). Each is
#: rendered by the real tag, and its HTML is shown beside the result.
RESPONSIVE_EXAMPLES = (
    (
        "{% picture %}: AVIF, then WebP, then a JPEG <img>",
        '{% picture source "240x150 480x300 720x450" "smart" '
        'sizes="(max-width: 600px) 100vw, 240px" alt="Landscape" %}',
    ),
    (
        "{% srcset_image %}: widths",
        '{% srcset_image source "160x 320x 480x" "scale" ".webp" sizes="160px" alt="Landscape" %}',
    ),
    (
        "{% srcset_image %}: densities",
        '{% srcset_image source "120x80" "crop" ".webp" densities="1x 2x 3x" alt="Landscape" %}',
    ),
)

#: The form's initial values (the source defaults to the first sample).
DEFAULT_SIZE = "300x200"
DEFAULT_METHOD = "smart"
DEFAULT_FORMAT = "jpg"

#: Longer input is refused before it reaches the signer.
MAX_FIELD_LENGTH = 1024

#: The page loads only its own thumbnails and inline styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass
class TryResult:
    """What the form produced: a signed URL, or an error, and how to get it elsewhere."""

    url: str = ""
    error: str = ""
    warning: str = ""
    snippet: str = ""


def output_formats() -> list[str]:
    """The extensions this Pillow build can write (``avif`` only where supported)."""
    seen = []
    for ext, format_name in EXTENSIONS.items():
        if ext != "jpeg" and can_encode(format_name):
            seen.append(ext)
    return seen


def method_notes() -> dict[str, str]:
    return {
        "crop": _("fills the box exactly, centred"),
        "scale": _("fits inside the box, aspect ratio kept"),
        "smart": _("like crop, but keeps the area of highest entropy"),
    }


def read_form(query: QueryDict, default_source: str) -> tuple[dict[str, str], bool]:
    """The form's values (defaults for missing fields) and whether it was submitted."""
    submitted = any(name in query for name in ("source", "size", "method", "format"))
    values = {
        "source": query.get("source", default_source),
        "size": query.get("size", DEFAULT_SIZE),
        "method": query.get("method", DEFAULT_METHOD),
        "format": query.get("format", DEFAULT_FORMAT),
    }
    return {name: value.strip() for name, value in values.items()}, submitted


def try_form(values: dict[str, str]) -> TryResult:
    """Sign the form's thumbnail, or explain why not. Never raises for bad input."""
    if any(len(value) > MAX_FIELD_LENGTH for value in values.values()):
        return TryResult(error=_("Each field takes at most %d characters.") % MAX_FIELD_LENGTH)
    if not values["source"]:
        return TryResult(error=_("Enter the path of a source image."))
    if values["format"] not in output_formats():
        return TryResult(error=_("This server cannot write %r thumbnails.") % values["format"])
    try:
        thumb = thumbnail(values["source"], values["size"], values["method"], values["format"])
    except ThumbnailError as e:
        return TryResult(error=e.message)
    source, size, method, ext = (values[k] for k in ("source", "size", "method", "format"))
    snippet = f'{{% thumbnail "{source}" "{size}" "{method}" ".{ext}" %}}'
    result = TryResult(url=thumb.url, snippet=snippet)
    if not source_storage().exists(values["source"]):
        result.warning = _(
            "There is no image at this path in the source directory, so this URL answers 404."
        )
    return result


def grid(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each sample, one row per method with the signed URL of every grid size."""
    notes = method_notes()
    return [
        {
            **sample,
            "rows": [
                {
                    "method": method,
                    "note": notes[method],
                    "cells": [
                        {
                            "size": size,
                            "url": thumbnail(sample["path"], size, method, sample["ext"]).url,
                        }
                        for size in GRID_SIZES
                    ],
                }
                for method in METHODS
            ],
        }
        for sample in samples
    ]


def responsive_examples(source: str) -> list[dict[str, str]]:
    """Each of :data:`RESPONSIVE_EXAMPLES` rendered for ``source``: its code, HTML and result."""
    examples = []
    for title, code in RESPONSIVE_EXAMPLES:
        html = (
            engines["django"].from_string("{% load restthumbs %}" + code).render({"source": source})
        )
        examples.append(
            {
                "title": title,
                "code": code,
                "html": str.replace(html, "><", ">\n<"),  # a plain str: escaped when shown
                "rendered": html,
            }
        )
    return examples


def demo_page(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    samples = app_settings.DEMO_SAMPLES
    values, submitted = read_form(request.GET, samples[0]["path"] if samples else "")
    site = site_form(request.GET)
    result = try_form(values) if submitted or samples else TryResult()
    context = {
        "samples": grid(samples),
        "responsive": responsive_examples(samples[0]["path"]) if samples else [],
        "sizes": GRID_SIZES,
        "values": values,
        "result": result,
        "methods": METHODS,
        "formats": output_formats(),
        "source_choices": [sample["path"] for sample in samples],
        "site": site,
    }
    status = 400 if result.error or site.error else 200
    response = render(request, "restthumbs/demo.html", context, status=status)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
