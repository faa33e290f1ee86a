"""django-storages' ``S3Storage``: one request per operation, S3's errors mapped here.

``S3Storage``'s own methods cost more requests than restthumbs needs:
``open()`` sends a HEAD, then s3transfer's HEAD, then the GET; ``save()``
sends a HEAD (``get_available_name``) and switches to a multipart upload from
8 MiB. This adapter calls the bucket's client directly with the storage's own
settings (``location``, ``object_parameters``, ``default_acl``, SSE-C keys):

- existence is one ``HeadObject``; a source read is one ``GetObject`` whose
  ``ContentLength`` is checked before any byte of the body is read;
- a stored thumbnail is one ``GetObject`` (``HeadObject`` for a HEAD request)
  whose response carries its size and ``Last-Modified``;
- a write is one ``PutObject`` with ``ContentType`` and ``CacheControl``;
- a listing pages through ``ListObjectsV2`` (1,000 keys a request, no delimiter:
  one request per 1,000 names, however deep the tree); a batch deletion is one
  ``DeleteObjects`` per 1,000 keys.

A missing key is ``FileNotFoundError``; any other failure is
:class:`~restthumbs.exceptions.StorageUnavailable`, with the cause kept for
the log and out of the response. Nothing here imports boto3 until an
``S3Storage`` is actually used.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import IO, TYPE_CHECKING, Any, TypeGuard

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import Storage

from ..caching import object_cache_control
from ..exceptions import StorageUnavailable
from .base import StorageAdapter, StoredFile, check_source_size

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

#: A source read from S3 stays in memory up to this size, then spills to a temporary file.
SPOOL_MEMORY = 8 * 1024 * 1024
CHUNK_SIZE = 1024 * 1024
#: Keys per ``DeleteObjects`` request: S3's maximum.
DELETE_BATCH = 1000


def is_s3(storage: Storage) -> TypeGuard[S3Storage]:
    """Whether ``storage`` is django-storages' ``S3Storage`` (or a subclass).

    Looked up in ``sys.modules``: if that module was never imported, no storage
    is one of its instances, and restthumbs never imports boto3 for nothing.
    """
    module = sys.modules.get("storages.backends.s3")
    return module is not None and isinstance(storage, module.S3Storage)


class S3Adapter(StorageAdapter):
    storage: S3Storage

    def exists(self, name: str) -> bool:
        try:
            self._call("head_object", name)
        except FileNotFoundError:
            return False
        return True

    def open_source(self, name: str, max_bytes: int) -> File[bytes]:
        response = self._call("get_object", name)
        body = response["Body"]
        with closing(body):  # not ``with body``: StreamingBody's __enter__ gives the raw stream
            check_source_size(response["ContentLength"], max_bytes)
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

    def open_stored(self, name: str, content: bool) -> StoredFile:
        response = self._call("get_object" if content else "head_object", name)
        return StoredFile(
            response["ContentLength"], response["LastModified"].timestamp(), response.get("Body")
        )

    def save(self, name: str, data: bytes, content_type: str) -> None:
        """One ``PutObject``: atomic, never renamed, never multipart.

        The parameters start from ``get_object_parameters()`` (the storage's
        ``object_parameters``, or a subclass's per-object override, whose
        ``CacheControl`` wins); ``ContentType`` is always the thumbnail's format.
        """
        key = self.key(name)
        params: dict[str, Any] = self.storage.get_object_parameters(key)
        params["ContentType"] = content_type
        params.setdefault("CacheControl", object_cache_control(self.url_expiry()))
        default_acl = getattr(self.storage, "default_acl", None)
        if default_acl and "ACL" not in params:
            params["ACL"] = default_acl
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client().put_object(Bucket=self._bucket(), Key=key, Body=data, **params)
        except (BotoCoreError, ClientError) as e:
            # An OSError, as a full disk is: the caller reports both as StorageWriteError.
            raise OSError(f"S3 PutObject {key!r} failed: {e}") from e

    def list_files(self, directory: str) -> Iterator[str]:
        root = self.key("")  # the location with a trailing "/", or "" without one
        prefix = self.key(directory) + "/" if directory else root
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self._client().get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self._bucket(), Prefix=prefix):
                yield from (entry["Key"][len(root) :] for entry in page.get("Contents", ()))
        except (BotoCoreError, ClientError) as e:
            raise StorageUnavailable(detail=f"S3 ListObjectsV2 {prefix!r}: {e}") from e

    def delete_many(self, names: Sequence[str]) -> None:
        """One ``DeleteObjects`` per :data:`DELETE_BATCH` keys; a key S3 could not delete
        is an ``OSError`` naming it (a missing key is deleted, as S3 says)."""
        from botocore.exceptions import BotoCoreError, ClientError

        for start in range(0, len(names), DELETE_BATCH):
            keys = [{"Key": self.key(name)} for name in names[start : start + DELETE_BATCH]]
            try:
                response = self._client().delete_objects(
                    Bucket=self._bucket(), Delete={"Objects": keys, "Quiet": True}
                )
            except (BotoCoreError, ClientError) as e:
                raise OSError(f"S3 DeleteObjects failed: {e}") from e
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise OSError(
                    f"S3 DeleteObjects could not delete {len(errors)} key(s), first "
                    f"{first.get('Key')!r}: {first.get('Code')} {first.get('Message', '')}"
                )

    def key(self, name: str) -> str:
        """The object key of ``name``, as S3Storage computes it (``location`` prefix)."""
        from storages.utils import clean_name, safe_join

        try:
            return str(safe_join(self.storage.location, clean_name(name)))
        except ValueError as e:
            raise SuspiciousFileOperation(f"Attempted access to {name!r} denied.") from e

    def _client(self) -> Any:
        return self.storage.connection.meta.client

    def _bucket(self) -> str:
        return str(self.storage.bucket_name)

    def _read_parameters(self, key: str) -> dict[str, Any]:
        """The parameters a read needs from ``object_parameters`` (SSE-C keys, ...)."""
        from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS

        params: dict[str, Any] = self.storage.get_object_parameters(key)
        return {k: v for k, v in params.items() if k in ALLOWED_DOWNLOAD_ARGS}

    def _call(self, operation: str, name: str) -> dict[str, Any]:
        """Call ``head_object``/``get_object`` on ``name``.

        A missing key (``404``, or ``400 KeyTooLongError`` for a key no object
        can have) is ``FileNotFoundError``. Any other failure, an error answer
        (``403``, ``500``, ``503 SlowDown``: botocore has already retried what
        it retries) or no answer at all (unreachable, timed out), is
        :class:`~restthumbs.exceptions.StorageUnavailable`.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(name)
        try:
            call = getattr(self._client(), operation)
            response: dict[str, Any] = call(
                Bucket=self._bucket(), Key=key, **self._read_parameters(key)
            )
        except ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = e.response.get("Error", {}).get("Code", "?")
            if status == 404 or code == "KeyTooLongError":  # over 1,024 bytes: cannot exist
                raise FileNotFoundError(f"No such object in the bucket: {key}") from e
            raise StorageUnavailable(detail=f"S3 {operation} {key!r}: {status} {code}") from e
        except BotoCoreError as e:
            raise StorageUnavailable(detail=f"S3 {operation} {key!r}: {e}") from e
        return response


def _copy_bounded(chunks: Iterator[bytes], out: IO[bytes], max_bytes: int) -> None:
    """Copy ``chunks`` to ``out``; a body longer than announced still stops at the limit."""
    copied = 0
    for chunk in chunks:
        copied += len(chunk)
        check_source_size(copied, max_bytes)
        out.write(chunk)


def _is_botocore_error(error: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError

    return isinstance(error, BotoCoreError)
