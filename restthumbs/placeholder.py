"""Development placeholders: a neutral image of the right size where the source is missing.

With ``THUMBNAILS_PLACEHOLDER = True`` (off by default), a signed URL whose
source image does not exist is answered with a grey placeholder of the
thumbnail's size and format instead of a 404, so a developer without the
production media still sees the page's layout (as sorl-thumbnail's
``THUMBNAIL_DUMMY`` does). A placeholder is never stored and never cached
(``Cache-Control: no-store``): the day the source exists, the real thumbnail
is rendered. A size with one free side takes a 3:2 box (``200x`` is 200x133).
"""

from __future__ import annotations

from django.http import HttpResponse
from PIL import Image, ImageDraw

from .caching import NO_STORE
from .engine.encoding import encode
from .spec import ThumbnailSpec

#: Width over height of a placeholder whose size gives one side only.
RATIO = 3 / 2
BACKGROUND = (221, 221, 221)
LINES = (190, 190, 190)


def placeholder_size(spec: ThumbnailSpec) -> tuple[int, int]:
    width, height = spec.width, spec.height
    if width and height:
        return width, height
    if width:
        return width, max(1, round(width / RATIO))
    assert height is not None
    return max(1, round(height * RATIO)), height


def draw(size: tuple[int, int]) -> Image.Image:
    """Light grey, crossed corner to corner: plainly not a picture, quiet in a layout."""
    im = Image.new("RGB", size, BACKGROUND)
    canvas = ImageDraw.Draw(im)
    width, height = size
    line = max(1, min(width, height) // 100)
    canvas.line([(0, 0), (width - 1, height - 1)], fill=LINES, width=line)
    canvas.line([(0, height - 1), (width - 1, 0)], fill=LINES, width=line)
    return im


def placeholder_response(spec: ThumbnailSpec, quality: int) -> HttpResponse:
    data = encode(draw(placeholder_size(spec)), spec.format, quality, None)
    response = HttpResponse(data, content_type=spec.content_type)
    response["Cache-Control"] = NO_STORE
    response["X-Thumbnail-Placeholder"] = "source missing"
    return response
