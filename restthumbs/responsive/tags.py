"""``{% srcset_image %}`` and ``{% picture %}``, on the library of ``{% load thumbnail %}``::

    {% srcset_image source ladder [method [ext]] [densities=...] [version=...] [attr=value ...] [as var] %}
    {% picture source ladder [method [ext]] [densities=...] [formats=...] [version=...] [attr=value ...] [as var] %}

As Wagtail's tags of the same names: the first size is the ``src``, ``sizes``
and any other attribute (``alt``, ``class``, ``loading``, ``data-id``...) are
written as given, HTML-escaped; ``version=`` signs a version into every URL
(as ``{% thumbnail %}``'s); ``as var`` binds a
:class:`~restthumbs.responsive.ResponsiveImage` or
:class:`~restthumbs.responsive.Picture` and writes nothing. Arguments are
compiled once; with ``THUMBNAILS_DEBUG`` on, a bad literal is a
``TemplateSyntaxError`` then and a bad value an error at render time,
otherwise the tag writes nothing and logs a warning (as ``{% thumbnail %}``).
Rendering signs URLs and joins strings: no storage, cache or database call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import template
from django.template.base import FilterExpression, Parser, Token
from django.template.context import Context

from ..conf import app_settings
from ..exceptions import InvalidSpec
from ..presets import check_size_or_preset, is_preset_name
from ..spec import normalize_ext, validate_method, validate_version
from . import picture_or_empty, srcset_or_empty
from .ladder import check_fallback, parse_densities, parse_formats, parse_sizes, split

#: ``name=value``: an attribute (or option) name, then the value's filter expression.
KEYWORD_RE = re.compile(r"([A-Za-z_:@][-A-Za-z0-9_:.@]*)=(.+)", re.DOTALL)
OPTIONS = {"srcset_image": ("densities", "version"), "picture": ("densities", "formats", "version")}
#: How a literal option is checked when the template is compiled.
OPTION_CHECKS: dict[str, Callable[[str], Any]] = {
    "densities": parse_densities,
    "formats": parse_formats,
    "version": validate_version,
}
#: Written by the tag itself from the ladder.
RESERVED = frozenset({"src", "srcset"})

USAGE = (
    "Usage: {{% {tag} source ladder [method [ext]] [{options}=...] [attribute=value ...] "
    '[as var] %}}, for example {{% {tag} image "400x300 800x600" "crop" '
    'sizes="(max-width: 600px) 100vw, 400px" alt="" %}}.'
)


class ResponsiveNode(template.Node):
    def __init__(
        self,
        tag: str,
        args: list[FilterExpression],
        options: dict[str, FilterExpression],
        attrs: dict[str, FilterExpression],
        target: str | None,
    ) -> None:
        self.tag = tag
        self.args = args
        self.options = options
        self.attrs = attrs
        self.target = target

    def render(self, context: Context) -> str:
        values = [arg.resolve(context) for arg in self.args]
        source, ladder, method, ext = values + [None] * (4 - len(values))
        options = {name: value.resolve(context) for name, value in self.options.items()}
        attrs = {name: value.resolve(context) for name, value in self.attrs.items()}
        densities, version = options.get("densities"), options.get("version")
        image: Any
        if self.tag == "picture":
            formats = options.get("formats")
            image = picture_or_empty(
                source, ladder, method, ext, densities, formats, attrs, version=version
            )
        else:
            image = srcset_or_empty(source, ladder, method, ext, densities, attrs, version=version)
        if self.target is not None:
            context[self.target] = image
            return ""
        return str(image.__html__())  # escaped by the markup classes, whatever autoescape says


def literal(expression: FilterExpression) -> str | None:
    """The value of a quoted literal without filters, else ``None``."""
    if isinstance(expression.var, str) and not expression.filters:
        return str(expression.var)
    return None


def _syntax_error(tag: str, message: str) -> template.TemplateSyntaxError:
    return template.TemplateSyntaxError(
        f"{{% {tag} %}}: {message} " + USAGE.format(tag=tag, options="=...] [".join(OPTIONS[tag]))
    )


def do_responsive(parser: Parser, token: Token) -> ResponsiveNode:
    tag, *bits = token.split_contents()
    target: str | None = None
    if len(bits) >= 2 and bits[-2] == "as":
        target, bits = bits[-1], bits[:-2]
    positional: list[FilterExpression] = []
    options: dict[str, FilterExpression] = {}
    attrs: dict[str, FilterExpression] = {}
    for bit in bits:
        match = KEYWORD_RE.fullmatch(bit)
        if match is None:
            if options or attrs:
                raise _syntax_error(tag, f"{bit!r} comes after a name=value argument.")
            positional.append(parser.compile_filter(bit))
            continue
        name, value = match.groups()
        if name in RESERVED or name in options or name in attrs:
            raise _syntax_error(tag, f"{name}= is given twice or written by the tag itself.")
        where = options if name in OPTIONS[tag] else attrs
        where[name] = parser.compile_filter(value)
    if not 2 <= len(positional) <= 4:
        raise _syntax_error(tag, "it takes a source, a ladder, and optionally a method and ext.")
    if app_settings.DEBUG:  # otherwise the same error is logged when the tag renders
        _check_literals(tag, positional, options)
    return ResponsiveNode(tag, positional, options, attrs, target)


def _check_ladder(value: str) -> None:
    items = split(value)
    if len(items) == 1 and is_preset_name(items[0]):
        check_size_or_preset(items[0])
    else:
        parse_sizes(items)


def _check_literals(
    tag: str, positional: list[FilterExpression], options: dict[str, FilterExpression]
) -> None:
    ext_check: Callable[[str], Any] = check_fallback if tag == "picture" else normalize_ext
    checks: list[tuple[Callable[[str], Any], FilterExpression]] = list(
        zip((_check_ladder, validate_method, ext_check), positional[1:], strict=False)
    )
    checks += [(OPTION_CHECKS[name], value) for name, value in options.items()]
    for check, expression in checks:
        value = literal(expression)
        if value is not None:
            try:
                check(value)
            except InvalidSpec as e:
                raise _syntax_error(tag, e.message) from e


def install(library: template.Library) -> None:
    """Register both tags on ``library`` (``{% load thumbnail %}``'s, ``{% load restthumbs %}``'s)."""
    library.tag("srcset_image", do_responsive)
    library.tag("picture", do_responsive)
