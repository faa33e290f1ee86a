"""Draw the demo's sample images with Pillow (no binary files ship with restthumbs).

Each drawing returns the encoded file. Each shows one thing the renderer does:
a wide landscape whose detail sits off-centre (``smart`` keeps it, ``crop``
centres), a tall portrait, a PNG with transparency (flattened on white in
JPEG), an animated GIF (first frame) and a JPEG stored sideways with an EXIF
orientation (rendered upright).
"""

from __future__ import annotations

import io
import math
import random
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont

Colour = tuple[int, int, int]


# -- drawing helpers ----------------------------------------------------------


def _gradient(size: tuple[int, int], top: Colour, bottom: Colour) -> Image.Image:
    """A vertical gradient from ``top`` to ``bottom``."""
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _ridge(
    rng: random.Random, width: int, base: int, amplitude: int, step: int
) -> list[tuple[int, int]]:
    """A mountain ridge line: a random walk smoothed by a few sines."""
    phases = [rng.uniform(0, math.tau) for _ in range(3)]
    points = []
    for x in range(0, width + step, step):
        y = base + sum(
            amplitude / (i + 1) * math.sin(x / (width / (2 + 3 * i)) + phases[i]) for i in range(3)
        )
        points.append((x, int(y + rng.uniform(-amplitude / 10, amplitude / 10))))
    return points


def _grain(im: Image.Image, strength: int = 10) -> Image.Image:
    """Add photographic grain so the encoders and resamplers have texture to keep."""
    noise = Image.effect_noise(im.size, strength).convert("RGB")
    return Image.blend(im, noise, 0.06)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except Exception:  # Pillow built without FreeType: the small bitmap font
        return ImageFont.load_default()


def _encode(im: Image.Image, format_name: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format_name, **params)
    return buffer.getvalue()


# -- the samples --------------------------------------------------------------


def draw_landscape(size: tuple[int, int] = (1600, 1000)) -> bytes:
    """Sunset over mountains and a lake, with a cabin and trees on the right third."""
    width, height = size
    rng = random.Random(1)
    horizon = int(height * 0.62)
    im = _gradient((width, horizon), (38, 64, 139), (250, 170, 90))
    im = im.crop((0, 0, width, height))
    draw = ImageDraw.Draw(im)
    sun = (int(width * 0.3), int(horizon * 0.72))
    for radius, colour in ((150, (252, 196, 120)), (110, (253, 214, 140)), (70, (255, 240, 200))):
        draw.ellipse(
            [sun[0] - radius, sun[1] - radius, sun[0] + radius, sun[1] + radius], fill=colour
        )
    for base, amp, colour in (
        (0.42, 90, (96, 86, 130)),
        (0.5, 70, (62, 70, 104)),
        (0.58, 50, (36, 52, 70)),
    ):
        ridge = _ridge(rng, width, int(height * base), amp, 16)
        draw.polygon([(0, horizon), *ridge, (width, horizon)], fill=colour)
    # The lake: the sky and mountains mirrored, darker and bluer.
    reflection = im.crop((0, 0, width, horizon)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    reflection = Image.blend(reflection, Image.new("RGB", reflection.size, (20, 40, 70)), 0.45)
    im.paste(reflection.crop((0, 0, width, height - horizon)), (0, horizon))
    draw = ImageDraw.Draw(im)
    for y in range(horizon + 6, height, 9):
        x = rng.randrange(0, width)
        draw.line([(x, y), (x + rng.randrange(40, 200), y)], fill=(200, 170, 150), width=1)
    _cabin_and_trees(draw, rng, int(width * 0.78), horizon)
    im = im.filter(ImageFilter.SMOOTH)
    return _encode(_grain(im), "JPEG", quality=88)


def _cabin_and_trees(draw: ImageDraw.ImageDraw, rng: random.Random, x: int, ground: int) -> None:
    """The high-detail area the smart crop should find."""
    draw.rectangle([x - 400, ground - 18, x + 400, ground + 4], fill=(30, 50, 30))
    draw.rectangle([x - 60, ground - 90, x + 60, ground], fill=(120, 62, 40))
    draw.polygon(
        [(x - 80, ground - 90), (x, ground - 150), (x + 80, ground - 90)], fill=(70, 30, 25)
    )
    for wx in (x - 40, x + 15):
        draw.rectangle([wx, ground - 70, wx + 25, ground - 45], fill=(255, 220, 120))
    draw.rectangle([x - 10, ground - 40, x + 10, ground], fill=(60, 30, 20))
    for _ in range(26):
        tx = x + rng.choice((-1, 1)) * rng.randrange(90, 380)
        th = rng.randrange(70, 190)
        shade = rng.randrange(30, 80)
        draw.polygon(
            [(tx - th // 4, ground), (tx, ground - th), (tx + th // 4, ground)],
            fill=(15, shade, 25),
        )


def draw_portrait(size: tuple[int, int] = (800, 1200)) -> bytes:
    """A striped lighthouse on rocks, taller than wide."""
    width, height = size
    rng = random.Random(2)
    im = _gradient(size, (120, 180, 230), (225, 240, 250))
    draw = ImageDraw.Draw(im)
    sea = int(height * 0.72)
    draw.rectangle([0, sea, width, height], fill=(30, 90, 140))
    for y in range(sea + 8, height, 14):
        x = rng.randrange(-50, width)
        draw.arc([x, y, x + 120, y + 20], 200, 340, fill=(200, 230, 250), width=3)
    for _ in range(12):
        cx, r = rng.randrange(0, width), rng.randrange(60, 160)
        draw.ellipse([cx - r, sea - r // 3, cx + r, sea + r], fill=(70 + r // 4, 66, 60))
    cx, top, bottom = width // 2, int(height * 0.2), sea - 20
    for i, y in enumerate(range(top, bottom, 70)):
        half_top = 55 + (y - top) * 35 // (bottom - top)
        half_bottom = 55 + (min(y + 70, bottom) - top) * 35 // (bottom - top)
        colour = (200, 30, 40) if i % 2 == 0 else (245, 245, 240)
        draw.polygon(
            [
                (cx - half_top, y),
                (cx + half_top, y),
                (cx + half_bottom, min(y + 70, bottom)),
                (cx - half_bottom, min(y + 70, bottom)),
            ],
            fill=colour,
        )
    draw.rectangle(
        [cx - 45, top - 70, cx + 45, top], fill=(250, 230, 120), outline=(40, 40, 40), width=4
    )
    draw.polygon([(cx - 65, top - 70), (cx, top - 140), (cx + 65, top - 70)], fill=(40, 40, 40))
    draw.polygon([(cx + 45, top - 40), (width, top - 140), (width, top + 60)], fill=(255, 250, 200))
    return _encode(_grain(im.filter(ImageFilter.SMOOTH)), "JPEG", quality=88)


def draw_logo(size: tuple[int, int] = (640, 640)) -> bytes:
    """Three translucent discs on a transparent background."""
    width, height = size
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    r = width // 4
    centres = [
        (width // 2, height // 2 - r // 2),
        (width // 2 - r // 2, height // 2 + r // 3),
        (width // 2 + r // 2, height // 2 + r // 3),
    ]
    for (cx, cy), colour in zip(
        centres, ((230, 40, 60), (40, 170, 90), (40, 90, 230)), strict=True
    ):
        layer = Image.new("RGBA", size, (0, 0, 0, 0))
        ImageDraw.Draw(layer).ellipse([cx - r, cy - r, cx + r, cy + r], fill=(*colour, 170))
        im = Image.alpha_composite(im, layer)
    ring = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(ring).ellipse(
        [20, 20, width - 20, height - 20], outline=(30, 30, 30, 255), width=14
    )
    return _encode(Image.alpha_composite(im, ring), "PNG", optimize=True)


def draw_animation(size: tuple[int, int] = (480, 300), frames: int = 12) -> bytes:
    """A ball bouncing across a gradient; thumbnails show the first frame."""
    width, height = size
    background = _gradient(size, (250, 240, 200), (120, 190, 220))
    images = []
    for i in range(frames):
        im = background.copy()
        draw = ImageDraw.Draw(im)
        x = 40 + (width - 80) * i / (frames - 1)
        y = height - 50 - abs(math.sin(math.pi * 2 * i / frames)) * (height - 120)
        draw.ellipse(
            [x - 30, y - 30, x + 30, y + 30], fill=(220, 60, 40), outline=(80, 20, 10), width=3
        )
        draw.text((12, 10), f"frame {i + 1}/{frames}", fill=(40, 40, 40), font=_font(22))
        images.append(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=90, loop=0)
    return buffer.getvalue()


def draw_rotated(size: tuple[int, int] = (600, 900)) -> bytes:
    """An upright picture stored sideways, with EXIF orientation 6 to turn it back."""
    width = size[0]
    im = _gradient(size, (60, 40, 110), (230, 120, 160))
    draw = ImageDraw.Draw(im)
    cx = width // 2
    draw.polygon(
        [
            (cx, 120),
            (cx + 150, 330),
            (cx + 60, 330),
            (cx + 60, 620),
            (cx - 60, 620),
            (cx - 60, 330),
            (cx - 150, 330),
        ],
        fill=(255, 255, 255),
    )
    font = _font(72)
    draw.text((cx, 720), "UP", fill=(255, 255, 255), font=font, anchor="mm")
    draw.text((cx, 810), "EXIF orientation 6", fill=(255, 230, 240), font=_font(32), anchor="mm")
    stored = im.transpose(Image.Transpose.ROTATE_90)  # sideways on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    return _encode(stored, "JPEG", quality=90, exif=exif.tobytes())
