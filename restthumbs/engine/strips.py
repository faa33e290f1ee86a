"""Decoding a large PNG in bands of rows, reduced as it goes: memory bounded by one band.

Pillow decodes a PNG into one buffer for the whole image (4 bytes a pixel for
RGB): a 64 MP photo costs 256 MiB before any resampling. A non-interlaced,
8-bit PNG can be read in bands instead, as libpng reads it row by row:

1. The IDAT chunks are read here and inflated with a bound on every call, so
   no chunk inflates to more than a band at once.
2. Each band of filtered rows goes through Pillow's own PNG decoder (the
   "zip" decoder, which undoes the PNG filters), preceded by the band's
   previous row, already unfiltered, as a row with filter "None": the filters
   that look at the row above keep working across bands.
3. Each band is brought to the pipeline's mode (palette and colour key to RGB
   or RGBA, alpha premultiplied) and ``reduce()``d by the plan's integer
   factors into one small image. Bands are whole multiples of the vertical
   factor, so the blocks are exactly those of ``reduce()`` on the whole image.

The result is what a JPEG's reduced-scale decode is to the pipeline: a smaller
image of the whole source, resampled from there. Any damage (a bad CRC, a
broken zlib stream, missing rows) is :class:`~restthumbs.exceptions.BadSourceImage`;
chunk CRCs are not checked, as Pillow does not check them when it decodes the
whole image (the two paths must agree).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import IO

from PIL import Image, ImageFile

from ..exceptions import BadSourceImage
from . import budget

#: Pillow raw modes whose unfiltered rows are the bytes ``tobytes()`` gives back.
RAW_MODES = frozenset({"L", "LA", "RGB", "RGBA", "P"})
CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "P": 1}

#: A PNG whose whole decode (with its working copies) would take more than this is
#: decoded in bands: about 8 MP of RGB. Below it a whole decode is faster (bands cost
#: about 1.4x the time) and its memory small.
MIN_WHOLE_BYTES = 32 * 1024 * 1024

#: A band is about this many bytes of decoded pixels.
BAND_BYTES = 2 * 1024 * 1024
READ_SIZE = 1024 * 1024


def can_decode_in_bands(im: Image.Image) -> bool:
    """Whether ``im`` (opened, not loaded) is a PNG this module can decode in bands."""
    if not isinstance(im, ImageFile.ImageFile) or im.format != "PNG":
        return False
    if len(im.tile) != 1 or im.info.get("interlace"):
        return False
    if getattr(im, "is_animated", False):
        return False  # APNG: the first frame need not be the IDAT image
    tile = im.tile[0]
    return tile[0] == "zip" and tile[3] in RAW_MODES and tile[3] == im.mode


def estimate(im: ImageFile.ImageFile, factor: tuple[int, int], output: tuple[int, int]) -> int:
    """Peak bytes of a banded decode: one band through its conversions, and the reduced image."""
    width, height = im.size
    rows = band_rows(width, factor[1])
    band = budget.estimate(im.mode, (width, rows), (0, 0), transparency="transparency" in im.info)
    # The band's filtered bytes are copied three times on their way to the decoder.
    copies = 3 * rows * (1 + width * CHANNELS.get(im.mode, 4))
    reduced = (-(-width // factor[0]), -(-height // factor[1]))
    return band + copies + budget.estimate("RGBA", reduced, output, rotated=True)


def band_rows(width: int, factor_y: int) -> int:
    """Rows per band: a whole number of ``factor_y`` blocks, about :data:`BAND_BYTES`."""
    blocks = max(1, BAND_BYTES // max(1, width * 4 * factor_y))
    return blocks * factor_y


def decode_reduced(im: ImageFile.ImageFile, factor: tuple[int, int]) -> Image.Image:
    """The whole of ``im`` decoded band by band and ``reduce()``d by ``factor``."""
    width, height = im.size
    mode = str(im.tile[0][3])
    stride = 1 + width * CHANNELS[mode]
    rows_per_band = band_rows(width, factor[1])
    out: Image.Image | None = None
    above: bytes | None = None  # the previous band's last row, unfiltered
    y = 0
    chunks = _idat_data(im)
    for filtered in _bands(chunks, stride, rows_per_band, height):
        band = _unfilter(im, mode, width, filtered, above)
        above = band.crop((0, band.height - 1, width, band.height)).tobytes()
        reduced = _prepared(im, band).reduce(factor)
        if out is None:
            size = (-(-width // factor[0]), -(-height // factor[1]))
            out = Image.new(reduced.mode, size)
        out.paste(reduced, (0, y // factor[1]))
        y += band.height
    if out is None or y != height:
        raise BadSourceImage("The source image is truncated.")
    for _ in chunks:  # the rest of the file: CRCs, and an eXIf chunk after the pixels
        pass
    if out.mode in ("RGBa", "La"):
        out = out.convert(out.mode.upper())
    out.info = {key: im.info[key] for key in ("exif", "icc_profile") if key in im.info}
    return out


def _unfilter(
    im: Image.Image, mode: str, width: int, filtered: bytes, above: bytes | None
) -> Image.Image:
    """Undo the PNG filters of one band with Pillow's decoder (its previous row first)."""
    rows = len(filtered) // (1 + width * CHANNELS[mode])
    if above is not None:
        filtered = b"\x00" + above + filtered
    try:
        band = Image.frombytes(
            mode, (width, rows + (above is not None)), zlib.compress(filtered, 0), "zip", mode
        )
    except (OSError, ValueError) as e:
        raise BadSourceImage(f"The source image cannot be decoded: {e}") from e
    if above is not None:
        band = band.crop((0, 1, width, band.height))
    if mode == "P" and im.palette is not None:
        band.putpalette(im.palette.palette, im.palette.mode)
    if "transparency" in im.info:
        band.info["transparency"] = im.info["transparency"]
    return band


def _prepared(im: Image.Image, band: Image.Image) -> Image.Image:
    """The band in the pipeline's mode, alpha premultiplied so ``reduce()`` averages right."""
    from .decoding import normalize_mode

    band = normalize_mode(band)
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(band.mode)
    return band.convert(premultiplied) if premultiplied else band


def _bands(chunks: Iterable[bytes], stride: int, rows: int, height: int) -> Iterator[bytes]:
    """Yield the filtered bytes of ``rows`` rows at a time, ``height`` rows in all."""
    inflater = zlib.decompressobj()
    want = rows * stride
    total = height * stride
    pending = bytearray()
    emitted = 0
    for data in chunks:
        while data and emitted + len(pending) < total:
            try:
                pending += inflater.decompress(data, want)
            except zlib.error as e:
                raise BadSourceImage(f"The source image cannot be decoded: {e}") from e
            data = inflater.unconsumed_tail
            while len(pending) >= want or (pending and emitted + len(pending) >= total):
                take = min(want, total - emitted)
                yield bytes(pending[:take])
                del pending[:take]
                emitted += take
        if emitted >= total:
            break
    if emitted < total:
        raise BadSourceImage("The source image is truncated.")


def _idat_data(im: ImageFile.ImageFile) -> Iterator[bytes]:
    """The payloads of the IDAT chunks of ``im``'s file, CRC-checked, read in pieces.

    Chunks after the image data are read too, up to IEND, for an ``eXIf`` chunk
    (EXIF orientation may follow the pixels): it is put in ``im.info``.
    """
    fp = im.fp
    assert fp is not None
    fp.seek(8)
    seen_idat = False
    while True:
        header = fp.read(8)
        if len(header) < 8:
            return  # no IEND: tolerated, as Pillow does; missing rows are caught by the caller
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IDAT":
            seen_idat = True
            yield from _payload(fp, kind, length)
        elif kind == b"IEND" or (seen_idat and kind == b"eXIf"):
            if kind == b"IEND":
                return
            im.info["exif"] = b"".join(_payload(fp, kind, length))
        else:
            fp.seek(length + 4, 1)


def _payload(fp: IO[bytes], kind: bytes, length: int) -> Iterator[bytes]:
    """Yield a chunk's data in pieces, then skip its CRC.

    The CRC is not checked, as Pillow's whole decode does not check it either: the
    same file must be a thumbnail or a refusal whatever size is asked (a banded
    decode is only chosen for some sizes). Damage to the pixel data itself is
    caught by the zlib stream or by missing rows, in both paths.
    """
    left = length
    while left:
        piece = fp.read(min(left, READ_SIZE))
        if not piece:
            raise BadSourceImage("The source image is truncated.")
        left -= len(piece)
        yield piece
    fp.read(4)
