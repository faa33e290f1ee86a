"""The objects the responsive tags bind, and the HTML they write.

:class:`ResponsiveImage` is one ladder in one format: a sequence of
:class:`~restthumbs.api.Thumbnail` with their ``srcset`` descriptors, written as
``<img src srcset width height ...>``. :class:`Picture` is the same ladder in
several formats, best first, written as ``<picture>`` with a ``<source>`` per
modern format and the last format's ``<img>``. Both write markup through
``__html__`` (Django's and Jinja2's escaping honour it); attribute values are
HTML-escaped, URLs are already percent-encoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from ..api import EMPTY, Thumbnail


def flat_attributes(attrs: Mapping[str, Any]) -> SafeString:
    """`` name="value"`` for each attribute, in order: ``True`` writes the name alone,
    ``None`` and ``False`` nothing (as ``django.forms.utils.flatatt``, unsorted).

    Every value is escaped, a template's string literals too (Django marks them
    safe, but a ``"`` in one would end the attribute): write ``&``, not ``&amp;``.
    """
    pairs = [(k, escape(v)) for k, v in attrs.items() if v is not None and not isinstance(v, bool)]
    names = [(k,) for k, v in attrs.items() if v is True]
    return format_html_join("", ' {}="{}"', pairs) + format_html_join("", " {}", names)


def layout_size(thumb: Thumbnail) -> tuple[int, int] | None:
    """The ``width`` and ``height`` attributes for ``thumb``: what a page can reserve.

    Its pixel size when known (:mod:`restthumbs.dimensions`); else, for ``crop``
    and ``smart`` with both sides, the box: the thumbnail has the box's aspect
    ratio whatever the source (a smaller source without upscaling gives a
    smaller file, which the browser stretches to the box). ``None`` otherwise.
    """
    if thumb.width and thumb.height:
        return thumb.width, thumb.height
    spec = thumb.spec
    if spec is not None and spec.method != "scale" and spec.width and spec.height:
        return spec.width, spec.height
    return None


class ResponsiveImage(Sequence[Thumbnail]):
    """One ladder in one format: ``{% srcset_image ... as img %}`` binds it.

    ``img.0.url`` (or ``img.thumbnails``), ``img.srcset``, ``img.url`` (the
    first size, the ``src``), ``img.width``/``img.height`` (the attributes
    written), ``{{ img }}`` (the ``<img>``); false for an empty source.
    """

    def __init__(
        self,
        thumbnails: Sequence[Thumbnail] = (),
        descriptors: Sequence[str] = (),
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.thumbnails = list(thumbnails)
        self.descriptors = list(descriptors)
        self.attrs = dict(attrs or {})

    @overload
    def __getitem__(self, index: int) -> Thumbnail: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Thumbnail]: ...
    def __getitem__(self, index: int | slice) -> Thumbnail | Sequence[Thumbnail]:
        return self.thumbnails[index]

    def __len__(self) -> int:
        return len(self.thumbnails)

    def __iter__(self) -> Iterator[Thumbnail]:
        return iter(self.thumbnails)

    def __bool__(self) -> bool:
        return bool(self.thumbnails)

    @property
    def src(self) -> Thumbnail:
        return self.thumbnails[0] if self.thumbnails else EMPTY

    @property
    def url(self) -> str:
        return self.src.url

    @property
    def width(self) -> int | None:
        size = layout_size(self.src)
        return size[0] if size else None

    @property
    def height(self) -> int | None:
        size = layout_size(self.src)
        return size[1] if size else None

    @property
    def srcset(self) -> str:
        """``"url 400w, url 800w"``; one size alone is its URL (no descriptor needed)."""
        if len(self.thumbnails) == 1:
            return self.url
        return ", ".join(
            f"{t.url} {d}" for t, d in zip(self.thumbnails, self.descriptors, strict=True)
        )

    def attributes(self) -> dict[str, Any]:
        """What the ``<img>`` gets: ``src``, ``srcset`` (several sizes), ``width`` and
        ``height`` (:func:`layout_size`), then the attributes given, which win."""
        attrs: dict[str, Any] = {"src": self.url}
        if len(self.thumbnails) > 1:
            attrs["srcset"] = self.srcset
        if self.width and self.height:
            attrs.update(width=self.width, height=self.height)
        attrs.update(self.attrs)
        return attrs

    def __html__(self) -> SafeString:
        if not self:
            return mark_safe("")
        return format_html("<img{}>", flat_attributes(self.attributes()))

    def __str__(self) -> str:
        return self.__html__()

    def __repr__(self) -> str:
        return f"<ResponsiveImage {self.srcset!r}>"


class Picture:
    """One ladder in several formats: ``{% picture ... as pic %}`` binds it.

    ``pic.formats`` maps each extension to its :class:`ResponsiveImage`, best
    first (``pic.formats.avif.srcset``, ``pic.formats.jpg.0.url``); the last is
    ``pic.fallback``, the ``<img>``. ``pic.url``, ``pic.width``, ``pic.height``
    are the fallback's; ``{{ pic }}`` writes the ``<picture>``.
    """

    def __init__(
        self, formats: Mapping[str, ResponsiveImage] | None = None, content_types: Any = None
    ) -> None:
        self.formats = dict(formats or {})
        self.content_types: dict[str, str] = dict(content_types or {})

    def __bool__(self) -> bool:
        return bool(self.formats) and bool(self.fallback)

    @property
    def fallback(self) -> ResponsiveImage:
        return list(self.formats.values())[-1] if self.formats else ResponsiveImage()

    @property
    def sources(self) -> list[tuple[str, ResponsiveImage]]:
        """``(content type, ladder)`` of each ``<source>``, best first."""
        return [(self.content_types[ext], image) for ext, image in list(self.formats.items())[:-1]]

    @property
    def url(self) -> str:
        return self.fallback.url

    @property
    def width(self) -> int | None:
        return self.fallback.width

    @property
    def height(self) -> int | None:
        return self.fallback.height

    def __html__(self) -> SafeString:
        if not self:
            return mark_safe("")
        sizes = self.fallback.attrs.get("sizes")
        sources = format_html_join(
            "",
            "<source{}>",
            (
                (flat_attributes({"type": kind, "srcset": image.srcset, "sizes": sizes}),)
                for kind, image in self.sources
            ),
        )
        return format_html("<picture>{}{}</picture>", sources, self.fallback.__html__())

    def __str__(self) -> str:
        return self.__html__()

    def __repr__(self) -> str:
        return f"<Picture {list(self.formats)!r}>"
