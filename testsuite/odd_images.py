"""Odd images made in code: every input format and mode, and files broken on purpose.

Nothing here is a committed binary: every file is written by Pillow and then, where it
must be odd, changed by byte surgery. Used by ``test_fuzz_images.py`` (seeded
mutations and hostile files through real signed URLs) and ``test_corpus.py`` (every
format x mode x orientation x colour profile, and the regression fixtures of what the
corpus runs found).

- :func:`encode_as`: one image in one input format and mode, or ``None`` where Pillow
  cannot write that combination; :data:`MODES`, :func:`in_mode`.
- :func:`mutate`: one seeded mutation (bit flips, truncation, header damage, chunk
  surgery, ...) and what it did.
- PNG, GIF, BMP, TIFF, JPEG, WebP and AVIF byte surgery: :func:`png_chunks`,
  :func:`png_with`, :func:`declared_size`, ...
- :data:`HOSTILE`: absurd declared sizes, zlib/iCCP/zTXt/iTXt bombs, wrong containers,
  animations of absurd frame counts.
- Colour profiles (:func:`profiles`) and orientation (:func:`upright`,
  :func:`stored_for`, :func:`metadata`).
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image, ImageCms, ImageDraw, PngImagePlugin, features

from . import images
from .test_engine_colour import (
    _desc_tag,
    _gamma_tag,
    _s15fixed16,
    _text_tag,
    _xyz_tag,
    wide_rgb_profile,
)
from .test_engine_colour import junk as junk_profile

# -- formats and modes ---------------------------------------------------------------

#: Input formats restthumbs decodes, with the source file extension used for each.
FORMATS: dict[str, str] = {
    "JPEG": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "TIFF": "tif",
    "BMP": "bmp",
    "MPO": "jpg",
}
if features.check("avif"):
    FORMATS["AVIF"] = "avif"

#: Source modes, as Pillow names them; ``P+t`` is a palette with a transparent index.
MODES = ["1", "L", "LA", "P", "P+t", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB"]
MODES += ["I;16", "I", "F"]

#: Formats that carry EXIF (and so an orientation) when Pillow writes them.
EXIF_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "MPO", "AVIF")
#: Formats that carry an ICC profile when Pillow writes them.
ICC_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "MPO", "AVIF")


def in_mode(im: Image.Image, mode: str) -> Image.Image:
    """``im`` (RGB or RGBA) in ``mode``; 16/32-bit and float keep the full range of L."""
    if mode in ("P", "P+t"):
        p = im.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        if mode == "P+t":  # the colour of the middle row's first pixel is transparent
            p.info["transparency"] = p.getpixel((0, p.height // 2))
        return p
    if mode in ("I;16", "I"):
        wide = im.convert("L").convert("I").point(lambda v: v * 257)
        return wide.convert("I;16") if mode == "I;16" else wide
    if mode == "F":
        return im.convert("L").convert("F")
    if mode == "PA":
        p = im.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        pa = p.convert("PA")
        pa.putalpha(im.getchannel("A") if "A" in im.getbands() else 255)
        return pa
    if mode == "LAB":
        srgb = ImageCms.createProfile("sRGB")
        lab = ImageCms.createProfile("LAB")
        converted = ImageCms.profileToProfile(im.convert("RGB"), srgb, lab, outputMode="LAB")
        assert converted is not None
        return converted
    return im.convert(mode)


def encode_as(im: Image.Image, format_name: str, **params: Any) -> bytes | None:
    """``im`` written as ``format_name``, or ``None`` if Pillow cannot write it so."""
    buffer = io.BytesIO()
    if format_name == "MPO":
        params = {"save_all": True, "append_images": [im.copy()], **params}
    try:
        im.save(buffer, format_name, **params)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    data = buffer.getvalue()
    try:
        with Image.open(io.BytesIO(data)) as check:
            check.load()
    except Exception:
        return None  # written, but not even Pillow reads it back: not a useful source
    return data


# -- seeded mutations -----------------------------------------------------------------


def _flip_bits(data: bytearray, rng: random.Random) -> str:
    count = rng.choice((1, 1, 2, 4, 16))
    for _ in range(count):
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
    return f"{count} bit flips"


def _truncate(data: bytearray, rng: random.Random) -> str:
    at = rng.choice((rng.randrange(len(data)), len(data) - rng.randint(1, 16), rng.randint(0, 64)))
    at = max(0, at)
    del data[at:]
    return f"truncated at {at}"


def _header(data: bytearray, rng: random.Random) -> str:
    at = rng.randrange(min(len(data), 64))
    value = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    data[at] = value
    return f"header byte {at} = {value}"


def _overwrite(data: bytearray, rng: random.Random) -> str:
    at = rng.randrange(len(data))
    length = rng.choice((1, 4, 16, 64, 256))
    data[at : at + length] = rng.randbytes(length)
    return f"{length} random bytes at {at}"


def _remove(data: bytearray, rng: random.Random) -> str:
    at = rng.randrange(len(data))
    length = rng.choice((1, 2, 4, 100, 1000))
    del data[at : at + length]
    return f"{length} bytes removed at {at}"


def _insert(data: bytearray, rng: random.Random) -> str:
    at = rng.randrange(len(data) + 1)
    length = rng.choice((1, 4, 100))
    data[at:at] = rng.randbytes(length)
    return f"{length} bytes inserted at {at}"


def _repeat(data: bytearray, rng: random.Random) -> str:
    at = rng.randrange(len(data))
    length = rng.randint(1, 512)
    times = rng.choice((2, 10, 100))
    data[at:at] = bytes(data[at : at + length]) * times
    return f"{length} bytes at {at} repeated {times} times"


def _integer(data: bytearray, rng: random.Random) -> str:
    """An integer field (of a width and byte order picked at random) set to an extreme."""
    at = rng.randrange(max(1, min(len(data), 512) - 4))
    width, order = rng.choice(((2, ">"), (2, "<"), (4, ">"), (4, "<")))
    value = (
        rng.choice((0, 1, 0x7FFF, 0xFFFF))
        if width == 2
        else rng.choice((0, 0x7FFFFFFF, 0xFFFFFFFF))
    )
    data[at : at + width] = struct.pack(order + ("H" if width == 2 else "I"), value)
    return f"{width}-byte {'big' if order == '>' else 'little'}-endian {value:#x} at {at}"


def _png_chunk(data: bytearray, rng: random.Random) -> str:
    """Damage one chunk of a PNG and fix its CRC, so only the content is wrong."""
    chunks = png_chunks(bytes(data))
    if not chunks:
        return _flip_bits(data, rng)
    index = rng.randrange(len(chunks))
    kind, payload = chunks[index]
    action = rng.choice(("corrupt", "drop", "duplicate", "swap", "empty"))
    if action == "corrupt" and payload:
        body = bytearray(payload)
        for _ in range(rng.choice((1, 8, 64))):
            body[rng.randrange(len(body))] = rng.randrange(256)
        chunks[index] = (kind, bytes(body))
    elif action == "drop":
        del chunks[index]
    elif action == "duplicate":
        chunks.insert(index, chunks[index])
    elif action == "swap" and len(chunks) > 1:
        other = rng.randrange(len(chunks))
        chunks[index], chunks[other] = chunks[other], chunks[index]
    else:
        chunks[index] = (kind, b"")
    data[:] = png_from_chunks(chunks)
    return f"PNG chunk {index} ({kind.decode('latin-1')}): {action}, CRC fixed"


MUTATIONS: dict[str, Callable[[bytearray, random.Random], str]] = {
    "flip": _flip_bits,
    "truncate": _truncate,
    "header": _header,
    "overwrite": _overwrite,
    "remove": _remove,
    "insert": _insert,
    "repeat": _repeat,
    "integer": _integer,
    "png-chunk": _png_chunk,
}


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One to three seeded mutations of ``data``, and what they were."""
    out = bytearray(data)
    done = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not out:
            break
        kind = rng.choice(list(MUTATIONS))
        if kind == "png-chunk" and not bytes(out).startswith(PNG_SIGNATURE):
            kind = "flip"
        done.append(MUTATIONS[kind](out, rng))
    return bytes(out), "; ".join(done) or "unchanged"


# -- PNG -------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """``(type, payload)`` of each chunk (CRCs dropped); stops at the first broken one."""
    if not data.startswith(PNG_SIGNATURE):
        return []
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if pos + 12 + length > len(data):
            break
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return PNG_SIGNATURE + b"".join(png_chunk(kind, payload) for kind, payload in chunks)


def png_with(
    data: bytes,
    before_idat: Sequence[tuple[bytes, bytes]] = (),
    after_idat: Sequence[tuple[bytes, bytes]] = (),
) -> bytes:
    """``data`` with extra chunks inserted before its first IDAT and/or before IEND."""
    chunks = png_chunks(data)
    first_idat = next(i for i, (kind, _) in enumerate(chunks) if kind == b"IDAT")
    chunks[first_idat:first_idat] = list(before_idat)
    chunks[-1:-1] = list(after_idat)
    return png_from_chunks(chunks)


def ihdr(
    width: int, height: int, bit_depth: int = 8, colour_type: int = 0, interlace: int = 0
) -> bytes:
    return struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, interlace)


def png_raw(
    width: int,
    height: int,
    idat: bytes,
    colour_type: int = 0,
    extra: Sequence[tuple[bytes, bytes]] = (),
) -> bytes:
    """A PNG assembled from its parts: IHDR, ``extra`` chunks, one IDAT, IEND."""
    return png_from_chunks(
        [(b"IHDR", ihdr(width, height, 8, colour_type)), *extra, (b"IDAT", idat), (b"IEND", b"")]
    )


@functools.cache
def zeros_deflated(size: int) -> bytes:
    """A zlib stream of ``size`` zero bytes (about 1000:1), cheap even for gigabytes.

    One MiB of zeros is deflated once, ended with a full flush (so the next block
    refers to nothing before it), and repeated; the Adler-32 is computed over zeros.
    """
    mib = 1 << 20
    whole, rest = divmod(size, mib)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    end = tail.compress(bytes(rest)) + tail.flush()
    adler = 1
    zero_mib = bytes(mib)
    for _ in range(whole):
        adler = zlib.adler32(zero_mib, adler)
    adler = zlib.adler32(bytes(rest), adler)
    return b"\x78\xda" + block * whole + end + struct.pack(">I", adler & 0xFFFFFFFF)


# -- other containers ------------------------------------------------------------------


def gif_raw(
    screen: tuple[int, int],
    frames: int = 1,
    frame_size: tuple[int, int] = (1, 1),
    loop: bool = True,
) -> bytes:
    """A GIF written by hand: a logical screen, ``frames`` frames of one colour each.

    A frame larger than one pixel gets the same tiny LZW stream, so its data runs out
    (what a GIF that declares a huge frame with a tiny body is).
    """
    width, height = screen
    header = (
        b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    )
    if loop:
        header += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"!\xf9\x04\x04\x02\x00\x00\x00"  # graphic control: disposal 1, 20 ms
        + b","
        + struct.pack("<HHHHB", 0, 0, *frame_size, 0)
        + b"\x02\x02\x44\x01\x00"  # LZW, minimum code size 2: clear, index 0, end
    )
    return header + frame * frames + b";"


def bmp_raw(width: int, height: int, bits: int = 24, body: bytes = b"\x00" * 16) -> bytes:
    """A BMP whose header declares ``width`` x ``height`` (negative: top-down)."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, 0, len(body), 2835, 2835, 0, 0)
    offset = 14 + len(info) + (4 << bits if bits <= 8 else 0)
    palette = bytes(4 << bits) if bits <= 8 else b""
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + info + palette + body


def jpeg_sof_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a JPEG) with its frame header declaring ``width`` x ``height``."""
    out = bytearray(data)
    for marker in (b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"):
        at = out.find(marker)
        if at > 0:
            out[at + 5 : at + 9] = struct.pack(">HH", height, width)
            return bytes(out)
    raise ValueError("no SOF marker")


def tiff_tags(data: bytes, values: dict[int, int]) -> bytes:
    """``data`` (a little-endian TIFF) with the first IFD's SHORT/LONG ``values`` replaced."""
    out = bytearray(data)
    assert out[:2] == b"II"
    (ifd,) = struct.unpack("<I", out[4:8])
    (count,) = struct.unpack("<H", out[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        (tag,) = struct.unpack("<H", out[at : at + 2])
        if tag in values:  # rewritten as one LONG, whatever it was
            out[at + 2 : at + 12] = struct.pack("<HII", 4, 1, values[tag])
    return bytes(out)


def tiff_ifd_loop(data: bytes) -> bytes:
    """``data`` (a little-endian TIFF) whose first IFD names itself as the next one."""
    out = bytearray(data)
    (ifd,) = struct.unpack("<I", out[4:8])
    (count,) = struct.unpack("<H", out[ifd : ifd + 2])
    next_at = ifd + 2 + 12 * count
    out[next_at : next_at + 4] = struct.pack("<I", ifd)
    return bytes(out)


def webp_canvas(data: bytes, width: int, height: int) -> bytes:
    """``data`` (an extended WebP: VP8X) with its canvas declared ``width`` x ``height``."""
    out = bytearray(data)
    at = out.find(b"VP8X")
    assert at > 0, "not an extended WebP"
    out[at + 12 : at + 18] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(out)


def avif_ispe(data: bytes, width: int, height: int) -> bytes:
    """``data`` (an AVIF) with its image spatial extents declared ``width`` x ``height``."""
    out = bytearray(data)
    at = out.find(b"ispe")
    assert at > 0
    out[at + 8 : at + 16] = struct.pack(">II", width, height)
    return bytes(out)


def webp_frames(count: int) -> bytes:
    """An animated WebP of ``count`` frames: two written by Pillow, the last repeated."""
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "WEBP", save_all=True, append_images=frames[1:], duration=20, lossless=True
    )
    data = buffer.getvalue()
    at = data.rfind(b"ANMF")
    (length,) = struct.unpack("<I", data[at + 4 : at + 8])
    frame = data[at : at + 8 + length + (length & 1)]
    body = data[12:] + frame * (count - 2)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def apng(frames: int, declared: int | None = None, size: tuple[int, int] = (8, 8)) -> bytes:
    """An APNG of ``frames`` frames (byte surgery on a two-frame one), its acTL
    declaring ``declared`` frames (default: the truth)."""
    two = [Image.new("RGB", size, "red"), Image.new("RGB", size, "blue")]
    buffer = io.BytesIO()
    two[0].save(buffer, "PNG", save_all=True, append_images=two[1:], duration=20)
    chunks = png_chunks(buffer.getvalue())
    fctl = [c for c in chunks if c[0] == b"fcTL"][1]
    fdat = next(c for c in chunks if c[0] == b"fdAT")
    head = [c for c in chunks if c[0] not in (b"fcTL", b"fdAT", b"IEND", b"acTL")]
    first_idat = next(i for i, (kind, _) in enumerate(head) if kind == b"IDAT")
    out: list[tuple[bytes, bytes]] = head[:first_idat]
    out.append((b"acTL", struct.pack(">II", declared if declared is not None else frames, 0)))
    out.append((b"fcTL", struct.pack(">I", 0) + fctl[1][4:]))
    out += [c for c in head[first_idat:] if c[0] == b"IDAT"]
    sequence = 1
    for _ in range(frames - 1):
        out.append((b"fcTL", struct.pack(">I", sequence) + fctl[1][4:]))
        out.append((b"fdAT", struct.pack(">I", sequence + 1) + fdat[1][4:]))
        sequence += 2
    out.append((b"IEND", b""))
    return png_from_chunks(out)


# -- hostile files --------------------------------------------------------------------


def _png_photo(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    return images.encode(images.photo(size, mode), "PNG")


def _jpeg(size: tuple[int, int] = (64, 48), **params: Any) -> bytes:
    return images.encode(images.photo(size), "JPEG", **params)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("image.jpg", _jpeg())
    return buffer.getvalue()


def _pdf() -> bytes:
    buffer = io.BytesIO()
    images.photo((64, 48)).save(buffer, "PDF")
    return buffer.getvalue()


def _text_bomb(kind: bytes, size: int) -> bytes:
    """A PNG with one zTXt or iTXt chunk that inflates to ``size`` bytes."""
    if kind == b"zTXt":
        payload = b"Comment\x00\x00" + zeros_deflated(size)
    else:
        payload = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zeros_deflated(size)
    return png_with(_png_photo(), before_idat=[(kind, payload)])


def _many_text_chunks(count: int, size: int) -> bytes:
    """``count`` zTXt chunks of ``size`` inflated bytes each (Pillow's per-file text budget)."""
    chunk = (b"zTXt", b"Comment\x00\x00" + zeros_deflated(size))
    return png_with(_png_photo(), before_idat=[chunk] * count)


def _iccp_bomb(size: int) -> bytes:
    return png_with(_png_photo(), before_idat=[(b"iCCP", b"bomb\x00\x00" + zeros_deflated(size))])


def _webp_with_exif() -> bytes:
    return images.encode(images.photo((64, 48)), "WEBP", exif=metadata(1)["exif"], lossless=True)


def _mpo_bogus_count() -> bytes:
    """An MPO whose MP index declares 65535 images."""
    data = encode_as(images.photo((64, 48)), "MPO")
    assert data is not None
    out = bytearray(data)
    mpf = out.find(b"MPF\x00")
    big_endian = out[mpf + 4 : mpf + 6] == b"MM"
    tag = b"\xb0\x01" if big_endian else b"\x01\xb0"  # NumberOfImages
    at = out.find(tag, mpf)
    out[at + 8 : at + 12] = struct.pack(">I" if big_endian else "<I", 65535)
    return bytes(out)


def _progressive_many_scans(scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated (libjpeg only warns about it)."""
    data = _jpeg((256, 256), progressive=True, quality=50)
    last = data.rfind(b"\xff\xda")
    scan = data[last:-2]
    return data[:-2] + scan * scans + b"\xff\xd9"


def _sequential_many_scans(scans: int) -> bytes:
    """A baseline JPEG with its one scan repeated: not progressive, so no scan count check."""
    data = _jpeg((256, 256), quality=50)
    last = data.rfind(b"\xff\xda")
    scan = data[last:-2]
    return data[:-2] + scan * scans + b"\xff\xd9"


#: name -> (file extension, bytes). Each is a real file of its format made hostile, or
#: something that is not an image at all under an image's name.
HOSTILE: dict[str, tuple[str, Callable[[], bytes]]] = {
    # Absurd declared sizes with a tiny body.
    "png-ihdr-100000x100000": ("png", lambda: png_raw(100_000, 100_000, zlib.compress(bytes(100)))),
    "png-ihdr-2**31-1 wide": ("png", lambda: png_raw(2**31 - 1, 1, zlib.compress(bytes(100)))),
    "png-ihdr-10000x10000-tiny-body": (
        "png",
        lambda: png_raw(10_000, 10_000, zlib.compress(bytes(100))),
    ),
    "png-ihdr-zero-width": ("png", lambda: png_raw(0, 10, zlib.compress(bytes(100)))),
    "gif-screen-65535x65535": ("gif", lambda: gif_raw((65535, 65535))),
    "gif-frame-65535x65535-on-1x1": ("gif", lambda: gif_raw((1, 1), frame_size=(65535, 65535))),
    "gif-frame-8000x8000-tiny-body": (
        "gif",
        lambda: gif_raw((8000, 8000), frame_size=(8000, 8000)),
    ),
    "bmp-100000x100000": ("bmp", lambda: bmp_raw(100_000, 100_000)),
    "bmp-10000x-10000-top-down": ("bmp", lambda: bmp_raw(10_000, -10_000)),
    "bmp-height--2**31": ("bmp", lambda: bmp_raw(1, -(2**31))),
    "bmp-8bit-10000x10000": ("bmp", lambda: bmp_raw(10_000, 10_000, bits=8)),
    "jpeg-sof-65500x65500": ("jpg", lambda: jpeg_sof_size(_jpeg(), 65500, 65500)),
    "jpeg-sof-10000x10000-tiny-body": ("jpg", lambda: jpeg_sof_size(_jpeg(), 10_000, 10_000)),
    "jpeg-sof-0x0": ("jpg", lambda: jpeg_sof_size(_jpeg(), 0, 0)),
    "tiff-100000x100000": (
        "tif",
        lambda: tiff_tags(
            images.encode(images.photo((64, 48)), "TIFF"), {256: 100_000, 257: 100_000}
        ),
    ),
    "tiff-10000x10000-tiny-strip": (
        "tif",
        lambda: tiff_tags(
            images.encode(images.photo((64, 48)), "TIFF"), {256: 10_000, 257: 10_000}
        ),
    ),
    "tiff-ifd-loop": ("tif", lambda: tiff_ifd_loop(images.encode(images.photo((64, 48)), "TIFF"))),
    "webp-canvas-16384x16384": ("webp", lambda: webp_canvas(_webp_with_exif(), 16384, 16384)),
    "webp-canvas-8000x8000": ("webp", lambda: webp_canvas(_webp_with_exif(), 8000, 8000)),
    # Bombs: compressed data that inflates far beyond the file.
    "png-idat-inflates-to-256MiB": ("png", lambda: png_raw(64, 64, zeros_deflated(256 << 20))),
    "png-10000x10000-all-zero": (
        "png",
        lambda: png_raw(10_000, 10_000, zeros_deflated(10_001 * 10_000)),
    ),
    "png-iccp-64MiB": ("png", lambda: _iccp_bomb(64 << 20)),
    "png-iccp-just-under-1MiB": ("png", lambda: _iccp_bomb((1 << 20) - 1024)),
    "png-ztxt-64MiB": ("png", lambda: _text_bomb(b"zTXt", 64 << 20)),
    "png-itxt-64MiB": ("png", lambda: _text_bomb(b"iTXt", 64 << 20)),
    "png-70-ztxt-of-1MiB": ("png", lambda: _many_text_chunks(70, (1 << 20) - 1024)),
    "jpeg-progressive-5000-scans": ("jpg", lambda: _progressive_many_scans(5000)),
    "jpeg-baseline-5000-scans": ("jpg", lambda: _sequential_many_scans(5000)),
    # Wrong containers: a real image of another format, or no image, under an image name.
    "png-named-jpg": ("jpg", _png_photo),
    "jpeg-named-tif": ("tif", _jpeg),
    "gif-named-png": ("png", lambda: images.animated_gif((32, 24), 3)),
    "webp-named-bmp": ("bmp", _webp_with_exif),
    "tiff-named-webp": ("webp", lambda: images.encode(images.photo((64, 48)), "TIFF")),
    "html-named-jpg": (
        "jpg",
        lambda: b"<!doctype html><title>x</title><img src=x onerror=alert(1)>",
    ),
    "svg-named-png": (
        "png",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"></svg>',
    ),
    "pdf-named-jpg": ("jpg", _pdf),
    "zip-named-png": ("png", _zip),
    "empty-named-webp": ("webp", lambda: b""),
    "png-signature-only": ("png", lambda: PNG_SIGNATURE),
    "jpeg-soi-only": ("jpg", lambda: b"\xff\xd8"),
    "gif-header-only": ("gif", lambda: gif_raw((10, 10))[:13]),
    "riff-webp-header-only": ("webp", lambda: b"RIFF\xff\xff\xff\x7fWEBPVP8X"),
    "mpo-65535-images-declared": ("jpg", _mpo_bogus_count),
    # Animations of absurd frame counts.
    "gif-100000-frames": ("gif", lambda: gif_raw((64, 64), frames=100_000)),
    "gif-20000-frames-2000x2000-screen": ("gif", lambda: gif_raw((2000, 2000), frames=20_000)),
    "apng-2000-frames": ("png", lambda: apng(2000)),
    "apng-declares-2**31-1-frames": ("png", lambda: apng(2, declared=2**31 - 1)),
    "apng-declares-0-frames": ("png", lambda: apng(3, declared=0)),
    "webp-5000-frames": ("webp", lambda: webp_frames(5000)),
}
if "AVIF" in FORMATS:
    HOSTILE["avif-ispe-100000x100000"] = (
        "avif",
        lambda: avif_ispe(images.encode(images.photo((64, 48)), "AVIF"), 100_000, 100_000),
    )
    HOSTILE["avif-ispe-10000x10000"] = (
        "avif",
        lambda: avif_ispe(images.encode(images.photo((64, 48)), "AVIF"), 10_000, 10_000),
    )


# -- colour profiles ----------------------------------------------------------------------


def _icc(profile_class: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """A version 2 ICC profile of ``tags`` (the layout of ``wide_rgb_profile``'s)."""
    d50 = (0.9642, 1.0, 0.8249)
    data_start = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, tag in tags:
        tag += bytes(-len(tag) % 4)
        table += signature + struct.pack(">II", data_start + len(data), len(tag))
        data += tag
    header = (
        struct.pack(">I", data_start + len(data))
        + b"lcms"
        + bytes([2, 0x10, 0, 0])
        + profile_class
        + space
        + pcs
        + bytes(12)
        + b"acsp"
        + bytes(4 + 4 + 4 + 4 + 8 + 4)
        + b"".join(_s15fixed16(v) for v in d50)
        + bytes(4 + 16 + 28)
    )
    return header + struct.pack(">I", len(tags)) + table + data


def grey_profile() -> bytes:
    """A greyscale display profile: gamma 2.2 (not sRGB's curve)."""
    tags = [
        (b"desc", _desc_tag("Test Grey 2.2")),
        (b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249)),
        (b"kTRC", _gamma_tag(2.2)),
        (b"cprt", _text_tag("No copyright, test data")),
    ]
    return _icc(b"mntr", b"GRAY", b"XYZ ", tags)


def _lut8(inputs: int, outputs: int, table: Callable[[tuple[int, ...]], tuple[int, ...]]) -> bytes:
    """lut8Type with a 2-point grid: identity curves, ``table`` at the grid's corners."""
    identity_matrix = b"".join(_s15fixed16(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    ramp = bytes(range(256))
    corners = [tuple((i >> (inputs - 1 - n)) & 1 for n in range(inputs)) for i in range(2**inputs)]
    clut = b"".join(bytes(table(corner)) for corner in corners)
    return (
        b"mft1"
        + bytes(4)
        + bytes([inputs, outputs, 2, 0])
        + identity_matrix
        + ramp * inputs
        + clut
        + ramp * outputs
    )


def cmyk_profile() -> bytes:
    """A crude but valid CMYK printer profile: ink darkens, K most of all (lut8 A2B0/B2A0)."""

    def to_lab(cmyk: tuple[int, ...]) -> tuple[int, ...]:
        c, m, y, k = cmyk
        lightness = round(255 * (1 - k) * (1 - (c + m + y) / 3))
        return lightness, 128 + 40 * (m - c), 128 + 40 * (y - c)

    def from_lab(lab: tuple[int, ...]) -> tuple[int, ...]:
        return 0, 0, 0, 255 * (1 - lab[0])

    tags = [
        (b"desc", _desc_tag("Test CMYK")),
        (b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249)),
        (b"A2B0", _lut8(4, 3, to_lab)),
        (b"B2A0", _lut8(3, 4, from_lab)),
        (b"cprt", _text_tag("No copyright, test data")),
    ]
    return _icc(b"prtr", b"CMYK", b"Lab ", tags)


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@functools.cache
def profiles() -> dict[str, bytes]:
    """Profiles a source may carry: name -> ICC bytes."""
    return {
        "srgb": srgb_profile(),
        "adobe-rgb": wide_rgb_profile("Test Adobe RGB (1998) primaries"),
        "cmyk": cmyk_profile(),
        "grey": grey_profile(),
        "garbage": junk_profile(700, seed=21),
        "garbage-claiming-rgb": junk_profile(700, seed=22, space=b"RGB "),
    }


# -- orientation and metadata ------------------------------------------------------------

#: EXIF orientation -> the transpose that turns an upright image into what a camera stores.
STORE: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright(size: tuple[int, int] = (48, 32), alpha: bool = False) -> Image.Image:
    """White, with a black block in the top-left corner: asymmetric under every
    rotation and flip, and black and white survive any colour conversion. With
    ``alpha``, a translucent band across the middle (the corners stay opaque)."""
    width, height = size
    im = Image.new("RGBA" if alpha else "RGB", size, (255, 255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, width // 3 - 1, height // 3 - 1), fill=(0, 0, 0, 255))
    if alpha:
        draw.rectangle((0, height // 2 - 2, width - 1, height // 2 + 1), fill=(255, 0, 0, 96))
    return im


def stored_for(im: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores for ``im`` when it writes ``orientation``."""
    transpose = STORE[orientation]
    return im if transpose is None else im.transpose(transpose)


def metadata(orientation: int, **more: Any) -> dict[str, bytes]:
    """EXIF (orientation, camera, GPS position, and ``more`` tags by number: ``tag_700``)
    and XMP, as the encoders take them."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "OddCamera"
    exif[0x0131] = "restthumbs odd_images"
    for name, value in more.items():
        exif[int(name.removeprefix("tag_"))] = value
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 22.0, 0.0)
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Secret Person"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    return {"exif": exif.tobytes(), "xmp": xmp}


def save_params(format_name: str, orientation: int, icc_profile: bytes | None) -> dict[str, Any]:
    """What to pass ``Image.save`` so a ``format_name`` file carries metadata, a comment,
    the orientation and the profile, as far as Pillow writes them for that format."""
    meta = metadata(orientation)
    if format_name == "TIFF":  # XMP and a description are TIFF tags, beside the EXIF ones
        xmp = meta["xmp"]
        meta = metadata(orientation, tag_700=xmp, tag_270="a description, not for thumbnails")
    params: dict[str, Any] = {}
    if format_name in EXIF_FORMATS:
        params["exif"] = meta["exif"]
    if format_name in ("JPEG", "WEBP", "AVIF", "MPO"):
        params["xmp"] = meta["xmp"]
    if format_name in ("JPEG", "GIF", "MPO"):
        params["comment"] = b"a comment that must not reach a thumbnail"
    if format_name == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "a comment that must not reach a thumbnail")
        info.add_itxt("XML:com.adobe.xmp", meta["xmp"].decode(), zip=True)
        params["pnginfo"] = info
    if icc_profile is not None and format_name in ICC_FORMATS:
        params["icc_profile"] = icc_profile
    if format_name == "WEBP":
        params["lossless"] = True  # exact pixels: the marker's edges stay sharp
    if format_name in ("JPEG", "MPO", "AVIF"):
        params["quality"] = 95
    return params
