"""Colour: bring a thumbnail to sRGB and choose the ICC profile it carries.

Runs on the small output, after resampling. What a profile describes and its
transform to sRGB are cached by the profile's bytes (the 32 most recent), so sources
sharing a profile parse and build it once.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageCms


@functools.lru_cache(maxsize=32)
def _profile_info(icc_profile: bytes) -> tuple[str, bool]:
    """``(colour space, is sRGB)`` of an embedded profile; ``("", False)`` if unreadable."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        description = ImageCms.getProfileDescription(profile) or ""
    except Exception:
        return "", False
    space = icc_profile[16:20].decode("latin-1").strip()
    return space, "srgb" in description.lower()


@functools.lru_cache(maxsize=32)
def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.buildTransform(
            source, ImageCms.createProfile("sRGB"), mode, "RGB", ImageCms.Intent.PERCEPTUAL
        )
    except Exception:
        return None


def to_srgb(im: Image.Image, icc_profile: bytes | None) -> tuple[Image.Image, bytes | None]:
    """Convert a thumbnail to sRGB; return it with the profile to embed, if any.

    Runs on the small output, so colour management costs next to nothing. An
    sRGB (or matching greyscale) profile is kept as it is; other RGB and CMYK
    profiles are applied and dropped (untagged images are sRGB to browsers); a
    profile that does not describe the pixels, or cannot be read, is dropped.
    """
    space, is_srgb = _profile_info(icc_profile) if icc_profile else ("", False)
    if im.mode == "CMYK":
        transform = _srgb_transform(icc_profile, "CMYK") if space == "CMYK" else None
        if transform is None:
            return im.convert("RGB"), None
        converted = ImageCms.applyTransform(im, transform)
        assert converted is not None  # None only with inPlace=True
        return converted, None
    if space == "GRAY":
        return im, icc_profile if im.mode in ("L", "LA") else None
    if space != "RGB" or im.mode not in ("RGB", "RGBA"):
        return im, None
    if is_srgb:
        return im, icc_profile
    transform = _srgb_transform(icc_profile, "RGB")
    if transform is None:
        return im, None
    if im.mode == "RGBA":
        alpha = im.getchannel("A")
        converted = ImageCms.applyTransform(im.convert("RGB"), transform)
        assert converted is not None
        converted.putalpha(alpha)
        return converted, None
    converted = ImageCms.applyTransform(im, transform)
    assert converted is not None
    return converted, None
