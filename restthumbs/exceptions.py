"""Domain errors of restthumbs.

Code below the view raises these; only :mod:`restthumbs.views` turns them into
HTTP statuses. Each carries a short, human-readable, translatable message and a
stable ``reason`` slug used in logs and metrics.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ThumbnailError(Exception):
    """Base class of every error restthumbs raises on purpose.

    ``message`` is what the client reads (the response body); ``detail``, if
    given, is what the operator reads instead (logs, ``thumbnails_warm``): the
    strerror of a full disk, a bucket name, S3's error code. Those stay out of
    responses, which anybody on the internet can trigger.
    """

    reason = "error"
    default_message: str | Promise = _("The thumbnail cannot be served.")
    #: Seconds for a ``Retry-After`` header, for errors worth retrying.
    retry_after: int | None = None

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        self.message = str(message if message is not None else self.default_message)
        self.detail = detail
        super().__init__(self.message)

    @property
    def log_message(self) -> str:
        """The message for operators: ``detail`` if there is one, else ``message``."""
        return self.detail if self.detail is not None else self.message


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


class OutputTooLarge(InvalidSpec):
    """The thumbnail would be larger than its output format can hold (WebP: 16383 a side)."""

    reason = "output_too_large"
    default_message = _("The thumbnail would be larger than its format can hold.")


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
        super().__init__(message)
        self.retry_after = retry_after


class StorageWriteError(ThumbnailError):
    """The rendered thumbnail could not be written to the thumbnail storage."""

    reason = "storage_write"
    default_message = _("The thumbnail could not be stored.")


class StorageUnavailable(ThumbnailError):
    """A storage could not be read: S3 unreachable, throttling, or refusing access.

    A ``503`` with ``Retry-After``: a CDN keeps nothing (``no-store``) and a
    client may try again, while the operator finds the cause in the log.
    """

    reason = "storage_unavailable"
    default_message = _("The storage is unavailable; retry shortly.")
    retry_after = 5


# -- remote sources (restthumbs.remote): refusals are 4xx, a failing origin 502/504 --


class RemoteRefused(ThumbnailError):
    """The remote address is refused by policy: scheme, allow-list, credentials, shape."""

    reason = "remote_refused"
    default_message = _("This remote address is not allowed.")


class RemoteAddressRefused(RemoteRefused):
    """The host resolves to (or is) an address the network rules refuse (private, ...)."""

    reason = "remote_address_refused"
    default_message = _("This remote host is not allowed.")


class RemoteTooManyRedirects(RemoteRefused):
    """The origin redirected more often than ``THUMBNAILS_REMOTE_MAX_REDIRECTS``."""

    reason = "remote_redirects"
    default_message = _("The remote address redirects too many times.")


class RemoteTooLarge(SourceTooLarge):
    """The remote body is over ``THUMBNAILS_REMOTE_MAX_BYTES`` (stopped while streaming)."""

    reason = "remote_too_large"
    default_message = _("The remote source is too large.")


class RemoteNotAnImage(BadSourceImage):
    """The remote body is not an image restthumbs decodes, whatever its Content-Type said."""

    reason = "remote_not_image"
    default_message = _("The remote source is not an image.")


class OriginUnavailable(ThumbnailError):
    """The origin is unreachable or failing (refused connection, TLS error, 5xx, ...)."""

    reason = "origin_unavailable"
    default_message = _("The remote origin is unavailable; retry later.")
    retry_after = 30


class OriginTimeout(OriginUnavailable):
    """The origin (or the page, in a browser) did not answer within its time limit."""

    reason = "origin_timeout"
    default_message = _("The remote origin is too slow; retry later.")


class BrowserUnavailable(ThumbnailError):
    """The headless browser that renders web pages could not be started."""

    reason = "browser_unavailable"
    default_message = _("Web page thumbnails are unavailable; retry later.")
    retry_after = 30
