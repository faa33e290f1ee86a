"""A moto S3 server in a process of its own, its bucket filled with many keys before it listens.

Filling a bucket through the S3 API costs a request a key (minutes for tens of
thousands); the server process puts them straight into moto's backend instead.
Being another process, its memory is not the caller's: a test that bounds the
peak memory of walking the bucket (``tracemalloc``) measures the client alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .missing import require_module
from .processes import Server, free_port, launch, make_dir, running

SERVER = """\
import json, sys, threading
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

spec = json.loads(sys.argv[1])
backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
backend.create_bucket(spec["bucket"], "us-east-1")
for i in range(spec["count"]):
    backend.put_object(spec["bucket"], spec["pattern"].format(i=i, d=i % 97), b"x")
server = ThreadedMotoServer(ip_address="127.0.0.1", port=spec["port"], verbose=False)
server.start()
threading.Event().wait()
"""


@contextmanager
def filled_bucket(
    directory: Path, bucket: str, count: int, pattern: str = "lib/d{d:02d}/photo-{i:07d}.jpg"
) -> Iterator[Server]:
    """A moto server whose ``bucket`` holds ``count`` keys named by ``pattern``."""
    require_module("moto.server")
    require_module("flask")
    port = free_port()
    home = make_dir(directory / f"moto-{port}")
    script = home / "filled_moto.py"
    script.write_text(SERVER)
    spec = {"bucket": bucket, "count": count, "pattern": pattern, "port": port}
    server = launch("moto-filled", [sys.executable, str(script), json.dumps(spec)], home, port)
    with running(server) as ready:
        yield ready
