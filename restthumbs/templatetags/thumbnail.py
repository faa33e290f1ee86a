"""``{% thumbnail source size method ext [as var] %}``.

Arguments are compiled once (``parser.compile_filter``) and literal size,
method and extension are validated then, as a ``TemplateSyntaxError``.
Rendering only resolves the arguments, signs and formats the URL: no storage,
cache or database call.
"""

from __future__ import annotations

from django import template
from django.template.base import FilterExpression, Parser, Token
from django.template.context import Context
from django.utils.html import conditional_escape

from ..api import thumbnail
from ..exceptions import InvalidSpec
from ..spec import normalize_ext, parse_size, validate_method

register = template.Library()

USAGE = (
    "Usage: {% thumbnail source size method ext [as var] %}, for example "
    '{% thumbnail image "100x100" "crop" ".jpg" as thumb %}.'
)


class ThumbnailNode(template.Node):
    def __init__(self, args: list[FilterExpression], target: str | None) -> None:
        self.args = args
        self.target = target

    def render(self, context: Context) -> str:
        source, size, method, ext = (arg.resolve(context) for arg in self.args)
        thumb = thumbnail(source, size, method, ext)
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
    if len(bits) != 5:
        raise template.TemplateSyntaxError(USAGE)
    args = [parser.compile_filter(bit) for bit in bits[1:]]
    for check, expression in zip(
        (parse_size, validate_method, normalize_ext), args[1:], strict=True
    ):
        value = _literal(expression)
        if value is not None:
            try:
                check(value)
            except InvalidSpec as e:
                raise template.TemplateSyntaxError(f"{{% thumbnail %}}: {e}") from e
    return ThumbnailNode(args, target)
