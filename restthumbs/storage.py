"""Resolve the source and thumbnail storages, and write thumbnails atomically.

``THUMBNAILS_SOURCE_STORAGE_BACKEND`` and ``THUMBNAILS_STORAGE_BACKEND`` name
either a key of Django's ``STORAGES`` setting or a dotted class path. A class
path that is a :class:`~django.core.files.storage.FileSystemStorage` is rooted
at ``THUMBNAILS_SOURCE_ROOT`` / ``THUMBNAILS_STORAGE_ROOT``. Each storage is
resolved once per process and again after ``setting_changed``, so
``override_settings`` takes effect at once.
"""

from __future__ import annotations

import errno
import functools
import mimetypes
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeGuard

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, InMemoryStorage, Storage
from django.utils.module_loading import import_string

from .conf import app_settings
from .exceptions import SourceTooLarge, StorageUnavailable

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage


def _storages_setting() -> dict[str, Any]:
    return getattr(settings, "STORAGES", None) or {}


def resolve_storage(backend: str, root: str, setting_name: str) -> Storage:
    """Return the storage named by ``backend`` (a STORAGES alias or a class path)."""
    if backend in _storages_setting():
        from django.core.files.storage import storages

        return storages[backend]
    return _instantiate(backend, root, setting_name)


@functools.lru_cache(maxsize=32)
def _instantiate(backend: str, root: str, setting_name: str) -> Storage:
    try:
        storage_class = import_string(backend)
    except ImportError as e:
        raise ImproperlyConfigured(
            f"{setting_name}={backend!r} is neither a key of STORAGES nor an importable "
            f"storage class: {e}"
        ) from e
    storage: Storage
    if isinstance(storage_class, type) and issubclass(storage_class, FileSystemStorage):
        storage = storage_class(location=root)
    else:
        storage = storage_class()
    return storage


def source_storage() -> Storage:
    return app_settings.derived(
        "source_storage",
        lambda: resolve_storage(
            app_settings.SOURCE_STORAGE_BACKEND,
            app_settings.SOURCE_ROOT,
            "THUMBNAILS_SOURCE_STORAGE_BACKEND",
        ),
    )


def thumbnail_storage() -> Storage:
    return app_settings.derived(
        "thumbnail_storage",
        lambda: resolve_storage(
            app_settings.STORAGE_BACKEND,
            app_settings.STORAGE_ROOT,
            "THUMBNAILS_STORAGE_BACKEND",
        ),
    )


def is_stored(storage: Storage, name: str) -> bool:
    """``storage.exists(name)``, with one ``lstat`` for a plain ``FileSystemStorage``.

    The hit path's existence check. ``FileSystemStorage.path()`` runs
    ``safe_join`` (about half the cost of a hit's check); it is skipped only
    for names of validated specs, which are relative with no empty, ``.`` or
    ``..`` segment (:func:`restthumbs.spec.validate_source_path`), so the join
    cannot leave the root. Subclasses keep their own ``exists()``.
    """
    if type(storage) is FileSystemStorage:
        return os.path.lexists(os.path.join(storage.location, name))
    if is_s3(storage):
        # The HeadObject S3Storage.exists() sends, with S3's failures as StorageUnavailable.
        try:
            _s3_call(storage, "head_object", name, **_s3_read_parameters(storage, name))
        except FileNotFoundError:
            return False
        return True
    return storage.exists(name)


def local_path(storage: Storage, name: str) -> str | None:
    """The filesystem path of ``name`` if ``storage`` is local, else ``None``."""
    if isinstance(storage, InMemoryStorage):
        return None  # it implements path(), but nothing is ever written there
    try:
        return storage.path(name)
    except NotImplementedError:
        return None


def save_atomically(
    storage: Storage, name: str, data: bytes, content_type: str | None = None
) -> None:
    """Store ``data`` under exactly ``name`` so no reader ever sees a partial file.

    On a local filesystem the bytes go to a temporary file in the target
    directory, which is then renamed over the final name (atomic on POSIX).
    On S3 one ``PutObject`` writes the object with its ``ContentType`` and
    ``CacheControl`` (see :func:`put_s3_object`): S3 publishes an object only
    once its PUT completes. Other storages publish on completion too, so their
    own ``save`` is atomic; it must keep ``name``.
    """
    content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if is_s3(storage):
        put_s3_object(storage, name, data, content_type)
        return
    path = local_path(storage, name)
    if path is None:
        content = ContentFile(data)
        content.content_type = content_type  # type: ignore[attr-defined]  # read by GCS, Azure
        saved = storage.save(name, content)
        if saved != name:
            storage.delete(saved)
            raise ImproperlyConfigured(
                f"The thumbnail storage renamed {name!r} to {saved!r}; configure it to "
                "overwrite files (for S3Storage: file_overwrite=True)."
            )
        return
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mode = getattr(storage, "file_permissions_mode", None)
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# -- reading, for the renderer and the streaming response --------------------------

#: A source read from S3 stays in memory up to this size, then spills to a temporary file.
SPOOL_MEMORY = 8 * 1024 * 1024
CHUNK_SIZE = 1024 * 1024


def open_source(storage: Storage, name: str, max_bytes: int) -> File[bytes]:
    """Open the source image ``name`` for reading, refusing one over ``max_bytes``.

    On S3 this is one ``GetObject``: its ``ContentLength`` is checked before any
    byte of the body is read, then the body is spooled to a seekable file for
    Pillow. (``S3Storage.open()`` costs a HEAD, then s3transfer's own HEAD and
    the GET; ``size`` on it is free, but the other two requests are not.)
    Elsewhere it is ``storage.open()``, and the caller checks ``size``.
    Raises ``FileNotFoundError`` for a missing source.
    """
    if not is_s3(storage):
        return storage.open(name, "rb")
    response = _s3_call(storage, "get_object", name, **_s3_read_parameters(storage, name))
    body = response["Body"]
    with closing(body):  # not ``with body``: StreamingBody's __enter__ gives the raw stream
        _check_source_size(response["ContentLength"], max_bytes)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        try:
            _copy_bounded(body.iter_chunks(CHUNK_SIZE), spool, max_bytes)
        except BaseException as e:
            spool.close()
            if _is_botocore_error(e):  # the connection broke or timed out mid-body
                raise StorageUnavailable(detail=f"S3 get_object {name!r}: {e}") from e
            raise
    spool.seek(0)
    source = File(spool, name=name)
    source.size = response["ContentLength"]
    return source


def _check_source_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise SourceTooLarge(f"The source image is {size} bytes, over the limit of {max_bytes}.")


def _copy_bounded(chunks: Iterator[bytes], out: IO[bytes], max_bytes: int) -> None:
    """Copy ``chunks`` to ``out``; a body longer than announced still stops at the limit."""
    copied = 0
    for chunk in chunks:
        copied += len(chunk)
        _check_source_size(copied, max_bytes)
        out.write(chunk)


@dataclass
class StoredFile:
    """A stored thumbnail's size, modification time (POSIX) and, if asked, its content."""

    size: int
    modified: float
    file: IO[bytes] | None = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def names_nothing(error: OSError) -> bool:
    """Whether ``error`` means no file can be stored under that name, rather than a fault.

    Missing, a file where a directory should be, or a name the filesystem
    cannot even hold (a segment over 255 bytes: ``ENAMETOOLONG``).
    """
    return isinstance(error, (FileNotFoundError, NotADirectoryError)) or (
        error.errno == errno.ENAMETOOLONG
    )


def open_stored(storage: Storage, name: str, *, content: bool = True) -> StoredFile:
    """Stat (and with ``content``, open) the stored thumbnail ``name`` at once.

    Local: ``open`` and ``fstat``. S3: one ``GetObject`` (``HeadObject`` without
    ``content``) whose response carries the size and ``Last-Modified``. Other
    storages: ``size()``, ``get_modified_time()`` and ``open()``.
    """
    path = local_path(storage, name)
    if path is not None:
        return _open_local(path, content)
    if is_s3(storage):
        operation = "get_object" if content else "head_object"
        response = _s3_call(storage, operation, name, **_s3_read_parameters(storage, name))
        return StoredFile(
            response["ContentLength"], response["LastModified"].timestamp(), response.get("Body")
        )
    # Without USE_TZ, storages return naive local times, which timestamp() reads as such.
    modified = storage.get_modified_time(name).timestamp()
    size = storage.size(name)
    return StoredFile(size, modified, storage.open(name, "rb") if content else None)


def _open_local(path: str, content: bool) -> StoredFile:
    if not content:
        st = os.stat(path)
        return StoredFile(st.st_size, st.st_mtime)
    f = open(path, "rb")  # closed by the response
    try:
        st = os.fstat(f.fileno())
    except BaseException:
        f.close()
        raise
    return StoredFile(st.st_size, st.st_mtime, f)


# -- S3 (django-storages' S3Storage): one request per operation ----------------------


def is_s3(storage: Storage) -> TypeGuard[S3Storage]:
    """Whether ``storage`` is django-storages' ``S3Storage`` (or a subclass).

    Looked up in ``sys.modules``: if that module was never imported, no storage
    is one of its instances, and restthumbs never imports boto3 for nothing.
    """
    module = sys.modules.get("storages.backends.s3")
    return module is not None and isinstance(storage, module.S3Storage)


def url_expiry(storage: Storage) -> int | None:
    """Seconds a URL from ``storage.url()`` stays valid; ``None`` if it never expires.

    S3Storage signs its URLs (presigned, or CloudFront-signed behind a
    ``custom_domain`` with a CloudFront key) when ``querystring_auth`` is on,
    valid for ``querystring_expire`` seconds. A ``custom_domain`` without a
    CloudFront key gives plain, permanent URLs even with ``querystring_auth``.
    """
    if not getattr(storage, "querystring_auth", False):
        return None
    expire = getattr(storage, "querystring_expire", None)
    if expire is None:
        return None
    if getattr(storage, "custom_domain", None) and not getattr(storage, "cloudfront_signer", None):
        return None
    return int(expire)


def object_cache_control(storage: Storage) -> str:
    """The ``Cache-Control`` stored with a thumbnail object, sent by the bucket and CDNs.

    ``public`` when the storage's URLs are permanent (a public bucket or CDN);
    ``private`` when they are signed: no shared cache keeps a private thumbnail.
    """
    scope = "private" if url_expiry(storage) is not None else "public"
    return f"{scope}, max-age={app_settings.CACHE_MAX_AGE}"


def put_s3_object(storage: S3Storage, name: str, data: bytes, content_type: str) -> None:
    """Write ``name`` with one ``PutObject``: atomic, never renamed, never multipart.

    Not ``storage.save()``: ``get_available_name`` would cost a HEAD (and rename
    with ``file_overwrite=False``), and s3transfer switches to a multipart upload
    from 8 MiB. The parameters start from ``get_object_parameters()`` (the
    storage's ``object_parameters``, or a subclass's per-object override, whose
    ``CacheControl`` wins); ``ContentType`` is always the thumbnail's format.
    """
    key = _s3_key(storage, name)
    params: dict[str, Any] = storage.get_object_parameters(key)
    params["ContentType"] = content_type
    params.setdefault("CacheControl", object_cache_control(storage))
    default_acl = getattr(storage, "default_acl", None)
    if default_acl and "ACL" not in params:
        params["ACL"] = default_acl
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        _s3_client(storage).put_object(Bucket=_s3_bucket(storage), Key=key, Body=data, **params)
    except (BotoCoreError, ClientError) as e:
        # An OSError, as a full disk is: the caller reports both as StorageWriteError.
        raise OSError(f"S3 PutObject {key!r} failed: {e}") from e


def _is_botocore_error(error: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError

    return isinstance(error, BotoCoreError)


def _s3_client(storage: S3Storage) -> Any:
    return storage.connection.meta.client


def _s3_bucket(storage: S3Storage) -> str:
    return str(storage.bucket_name)


def _s3_key(storage: S3Storage, name: str) -> str:
    """The object key of ``name``, exactly as S3Storage computes it (``location`` prefix)."""
    from storages.utils import clean_name

    return str(storage._normalize_name(clean_name(name)))


def _s3_read_parameters(storage: S3Storage, name: str) -> dict[str, Any]:
    """The parameters a read needs from ``object_parameters`` (SSE-C keys, ...)."""
    from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS

    params: dict[str, Any] = storage.get_object_parameters(_s3_key(storage, name))
    return {k: v for k, v in params.items() if k in ALLOWED_DOWNLOAD_ARGS}


def _s3_call(storage: S3Storage, operation: str, name: str, **params: Any) -> dict[str, Any]:
    """Call ``head_object``/``get_object`` on ``name``.

    A missing key (``404``, or ``400 KeyTooLongError`` for a key no object can
    have) is ``FileNotFoundError``. Any other failure, an
    error answer (``403``, ``500``, ``503 SlowDown``: botocore has already
    retried what it retries) or no answer at all (unreachable, timed out), is
    :class:`~restthumbs.exceptions.StorageUnavailable`, with the cause kept
    for the log and out of the response.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    key = _s3_key(storage, name)
    try:
        call = getattr(_s3_client(storage), operation)
        response: dict[str, Any] = call(Bucket=_s3_bucket(storage), Key=key, **params)
    except ClientError as e:
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = e.response.get("Error", {}).get("Code", "?")
        if status == 404 or code == "KeyTooLongError":  # over 1,024 bytes: cannot exist
            raise FileNotFoundError(f"No such object in the bucket: {key}") from e
        raise StorageUnavailable(detail=f"S3 {operation} {key!r}: {status} {code}") from e
    except BotoCoreError as e:
        raise StorageUnavailable(detail=f"S3 {operation} {key!r}: {e}") from e
    return response
