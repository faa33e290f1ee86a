"""The memory a render needs, estimated from the header before a pixel is decoded.

Pillow keeps an image in one buffer per image: 1 byte a pixel for modes ``1``,
``L`` and ``P``, 2 for ``I;16``, and 4 for everything else (``RGB`` is stored
as 4 bytes a pixel, like ``RGBA``). The pipeline then makes working copies of
the decoded image: a mode conversion (palette to RGB, 16-bit to 8-bit grey, a
colour key to alpha), premultiplied alpha, a rotation for EXIF orientation.
:func:`estimate` adds them up for the size that will actually be decoded
(after JPEG's reduced-scale decode, or per band for a PNG decoded in bands),
plus the output and the resampler's intermediate image; :func:`check` refuses
a render over the budget (``THUMBNAILS_MAX_RENDER_MEMORY``) with
:class:`~restthumbs.exceptions.SourceTooLarge`, before anything is decoded.

The estimate counts image buffers only: a worker's own baseline (Python,
Django, Pillow: 60-80 MB) comes on top. ``docs/security.md`` lists the peak
RSS measured per input format.
"""

from __future__ import annotations

from PIL import Image

from ..exceptions import SourceTooLarge

MIB = 1024 * 1024

#: The default budget of one render (``THUMBNAILS_MAX_RENDER_MEMORY``): a 24 MP
#: photo renders in every input format (the dearest, WebP, takes about 370 MiB;
#: any JPEG or 8-bit PNG far less), and four workers rendering at once stay
#: within 2 GB beside their baselines.
DEFAULT_MAX_MEMORY = 384 * MIB

#: Bytes Pillow stores per pixel, by mode. Every mode not listed takes 4.
PIXEL_BYTES: dict[str, int] = {
    "1": 1,
    "L": 1,
    "P": 1,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I;16N": 2,
}


#: Bytes a source pixel costs inside the decoder, beside Pillow's image, measured with
#: ``benchmarks/memory.py``: libwebp decodes to an RGBA buffer that Pillow then copies
#: and converts; libavif to YUV planes, then RGB; libtiff keeps a strip buffer.
DECODER_BYTES: dict[str, int] = {"WEBP": 12, "AVIF": 6, "TIFF": 1}


def decoder_bytes(im: Image.Image) -> float:
    """Bytes per source pixel (at full size) the decoder holds beside the decoded image.

    A progressive JPEG keeps the 16-bit DCT coefficients of the whole image
    across its scans, whatever scale it is decoded at: 2 bytes per sample,
    samples per pixel as the chroma subsampling says (3 for 4:2:0 colour).
    """
    if im.format in ("JPEG", "MPO"):
        if not im.info.get("progressive"):
            return 0.0
        layers: list[tuple[int, int, int, int]] = getattr(im, "layer", None) or [(0, 1, 1, 0)]
        h_max = max(layer[1] for layer in layers)
        v_max = max(layer[2] for layer in layers)
        samples = sum(layer[1] * layer[2] for layer in layers) / (h_max * v_max)
        return 2.0 * samples
    return float(DECODER_BYTES.get(im.format or "", 0))


def pixel_bytes(mode: str) -> int:
    return PIXEL_BYTES.get(mode, 4)


def working_bytes(mode: str, transparency: bool) -> int:
    """Bytes a pixel of a decoded ``mode`` image costs through the pipeline, copies included.

    Mirrors :func:`.decoding.normalize_mode` and :func:`.resampling.resample`:
    the decoded image, the converted copy where there is one, and the
    premultiplied copy of an image with alpha.
    """
    decoded = pixel_bytes(mode)
    if mode in ("L", "RGB", "CMYK") and not transparency:
        return decoded  # used as it is
    if mode == "1" and not transparency:
        return decoded + 1  # to L
    if mode.startswith("I") or mode == "F":
        return decoded + 4 + 4  # to I, then scaled (the 8-bit result is small beside them)
    has_alpha = transparency or mode in ("LA", "PA", "RGBA", "La", "RGBa")
    converted = 0 if mode in ("LA", "RGBA") else 4
    return decoded + converted + (4 if has_alpha else 0)


def estimate(
    mode: str,
    size: tuple[int, int],
    output: tuple[int, int],
    *,
    transparency: bool = False,
    rotated: bool = False,
    decoder: float = 0.0,
) -> int:
    """Bytes of image buffers a render of a ``size`` image in ``mode`` needs at its peak.

    ``rotated``: EXIF orientation will rotate the decoded image (one more copy).
    ``decoder``: bytes the decoder itself holds (:func:`decoder_bytes` times the
    source's full-size pixels). The output terms count the resampler's
    intermediate image and the output.
    """
    width, height = size
    pixels = width * height
    total = int(decoder) + pixels * working_bytes(mode, transparency)
    if rotated:
        total += pixels * pixel_bytes(mode)
    return total + 3 * 4 * output[0] * output[1]


def check(needed: int, budget: int, what: str) -> None:
    """Refuse a render that needs more than ``budget`` bytes, before it starts."""
    if needed > budget:
        raise SourceTooLarge(
            detail=f"{what} needs about {needed // MIB} MiB to render, over "
            f"THUMBNAILS_MAX_RENDER_MEMORY ({budget // MIB} MiB)."
        )
