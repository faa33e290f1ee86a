"""Domain errors of restthumbs.

Code below the view raises these; only :mod:`restthumbs.views` turns them into
HTTP statuses. Each carries a short, human-readable, translatable message and a
stable ``reason`` slug used in logs and metrics.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ThumbnailError(Exception):
    """Base class of every error restthumbs raises on purpose."""

    reason = "error"
    default_message: str = _("The thumbnail cannot be served.")

    def __init__(self, message: str | None = None) -> None:
        self.message = str(message if message is not None else self.default_message)
        super().__init__(self.message)


class NotAThumbnailURL(ThumbnailError):
    """The path does not have the ``<source>/<size>/<method>/<secret>.<ext>`` shape."""

    reason = "malformed_url"
    default_message = _("Not a thumbnail URL.")


class InvalidSpec(ThumbnailError, ValueError):
    """Size, method or extension is malformed or unsupported."""

    reason = "invalid_spec"
    default_message = _("Invalid thumbnail specification.")


class SizeNotAllowed(InvalidSpec):
    """The size is well-formed but refused by ``THUMBNAILS_MAX_SIZE``/``ALLOWED_SIZES``."""

    reason = "size_not_allowed"
    default_message = _("This thumbnail size is not allowed.")


class InvalidSourcePath(ThumbnailError, ValueError):
    """The source path is absolute, empty or escapes the source storage."""

    reason = "invalid_path"
    default_message = _("Invalid source path.")


class BadSignature(ThumbnailError):
    """The secret is missing, malformed or does not match any key."""

    reason = "bad_signature"
    default_message = _("Invalid or missing thumbnail signature.")


class SourceNotFound(ThumbnailError):
    """The source image does not exist in the source storage."""

    reason = "source_missing"
    default_message = _("Source image not found.")


class BadSourceImage(ThumbnailError):
    """The source cannot be decoded, is truncated, or is over the size limits."""

    reason = "bad_image"
    default_message = _("The source image cannot be processed.")


class SourceTooLarge(BadSourceImage):
    """The source is over ``THUMBNAILS_MAX_SOURCE_BYTES`` or ``_PIXELS``."""

    reason = "source_too_large"
    default_message = _("The source image is too large.")


class ThumbnailBusy(ThumbnailError):
    """Another worker holds the render lock and did not finish in time."""

    reason = "busy"
    default_message = _("The thumbnail is being rendered; retry shortly.")

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class StorageWriteError(ThumbnailError):
    """The rendered thumbnail could not be written to the thumbnail storage."""

    reason = "storage_write"
    default_message = _("The thumbnail could not be stored.")
