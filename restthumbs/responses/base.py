"""The base class of response backends, and the adapter for the function style.

A backend turns a stored thumbnail into a response: :meth:`ResponseBackend.respond`.
The view first offers it the hit: :meth:`ResponseBackend.serve_stored` answers
if the thumbnail is stored and returns ``None`` if it is not (then the view
renders it and calls ``respond``). The default does one existence check, which
the shared cache's memory of stored thumbnails spares where a look is a network
request (:mod:`restthumbs.stored`: a repeated hit on S3 costs no request); a
backend that can tell "missing" from the read itself overrides it to answer a
hit in one storage read (the streaming backend does, and needs no memory).

An instance is also callable as ``backend(request, storage, name,
content_type)``, the signature backends had when they were plain functions, so
code that calls ``restthumbs.responses.<x>.sendfile(...)`` keeps working.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.files.storage import Storage
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from ..storage import is_stored
from ..stored import recall


class ResponseBackend:
    """Answers for stored thumbnails; subclasses implement :meth:`respond`."""

    def respond(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponseBase:
        """The response for the stored thumbnail ``name`` of ``storage``."""
        raise NotImplementedError

    def serve_stored(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponseBase | None:
        """The hit path: the response if ``name`` is stored, ``None`` if it is not."""
        memory = recall(name)
        if not memory.stored:
            if not is_stored(storage, name):
                return None
            memory.remember()
        return self.respond(request, storage, name, content_type)

    def __call__(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponseBase:
        return self.respond(request, storage, name, content_type)


SendFile = Callable[[HttpRequest, Storage, str, str], HttpResponseBase]


class FunctionBackend(ResponseBackend):
    """A backend written as a plain ``sendfile(request, storage, name, content_type)``."""

    def __init__(self, function: SendFile) -> None:
        self.function = function

    def respond(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponseBase:
        return self.function(request, storage, name, content_type)

    def __repr__(self) -> str:
        return f"<FunctionBackend {self.function!r}>"
