"""``{% thumbnail source size [method [ext]] [version=v] [as var] %}``, and the responsive tags.

``size`` is a size or the name of a preset (``THUMBNAILS_PRESETS``); a method
or extension left out is the preset's, else ``crop`` and ``.jpg``, as in
:func:`restthumbs.api.thumbnail`. ``version=photo.updated_at`` (a datetime, a
content hash...: :mod:`restthumbs.versions`) signs a version into the URL, so a
replaced source gets a new URL; a ``None`` version gives the unversioned URL. ``{% srcset_image %}`` and ``{% picture %}``
are registered on this same library by :mod:`restthumbs.responsive.tags`.

Load it as ``{% load thumbnail %}`` or, beside sorl-thumbnail or easy-thumbnails
(whose libraries are called ``thumbnail`` too), as ``{% load restthumbs %}``.

Arguments are compiled once (``parser.compile_filter``); literal size, method
and extension are validated then. Rendering only resolves the arguments, signs
and formats the URL: no storage, cache or database call.

A bad argument (a malformed size, a size ``THUMBNAILS_ALLOWED_SIZES`` refuses,
a path that escapes the storage) fails loudly when ``THUMBNAILS_DEBUG`` is on
(by default: when Django's ``DEBUG`` is): a ``TemplateSyntaxError`` for a
literal, the domain error at render time. Otherwise a page never fails because
of a thumbnail: the tag gives an empty URL and logs a warning.
"""

from __future__ import annotations

from django import template
from django.template.base import FilterExpression, Parser, Token
from django.template.context import Context
from django.utils.html import conditional_escape

from ..api import thumbnail_or_empty
from ..conf import app_settings
from ..exceptions import InvalidSpec
from ..presets import check_size_or_preset
from ..responsive import tags as responsive_tags
from ..spec import normalize_ext, validate_method, validate_version

register = template.Library()
responsive_tags.install(register)

USAGE = (
    "Usage: {% thumbnail source size [method [ext]] [version=v] [as var] %} (size: WxH, Wx, "
    'xH or a preset name), for example {% thumbnail image "100x100" "crop" ".jpg" as thumb %}, '
    '{% thumbnail image "avatar" %} or {% thumbnail photo.image "avatar" '
    "version=photo.updated_at %}."
)
VERSION_ARGUMENT = "version="


class ThumbnailNode(template.Node):
    def __init__(
        self,
        args: list[FilterExpression],
        target: str | None,
        version: FilterExpression | None = None,
    ) -> None:
        self.args = args
        self.target = target
        self.version = version

    def render(self, context: Context) -> str:
        values = [arg.resolve(context) for arg in self.args]
        version = None if self.version is None else self.version.resolve(context)
        thumb = thumbnail_or_empty(*values, version=version)
        if self.target is not None:
            context[self.target] = thumb
            return ""
        return str(conditional_escape(thumb.url)) if context.autoescape else thumb.url


def _literal(expression: FilterExpression) -> str | None:
    """The value of a quoted literal argument without filters, else ``None``."""
    if isinstance(expression.var, str) and not expression.filters:
        return str(expression.var)
    return None


@register.tag(name="thumbnail")
def do_thumbnail(parser: Parser, token: Token) -> ThumbnailNode:
    bits = token.split_contents()
    target: str | None = None
    if len(bits) >= 3 and bits[-2] == "as":
        target = bits[-1]
        bits = bits[:-2]
    version: FilterExpression | None = None
    if bits[-1].startswith(VERSION_ARGUMENT):
        version = parser.compile_filter(bits[-1].removeprefix(VERSION_ARGUMENT))
        bits = bits[:-1]
    if not 3 <= len(bits) <= 5:
        raise template.TemplateSyntaxError(USAGE)
    args = [parser.compile_filter(bit) for bit in bits[1:]]
    if app_settings.DEBUG:  # otherwise the same error is logged when the tag renders
        _check_literals(args, version)
    return ThumbnailNode(args, target, version)


def _check_literals(args: list[FilterExpression], version: FilterExpression | None) -> None:
    checks = [
        (check, expression)
        for check, expression in zip(
            (check_size_or_preset, validate_method, normalize_ext), args[1:], strict=False
        )
    ]
    if version is not None:
        checks.append((validate_version, version))
    for check, expression in checks:
        value = _literal(expression)
        if value is not None:
            try:
                check(value)
            except InvalidSpec as e:
                raise template.TemplateSyntaxError(f"{{% thumbnail %}}: {e}") from e
