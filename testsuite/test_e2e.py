"""End to end, with real servers: nginx in front of gunicorn, a shared lock cache.

The production shape from docs/deployment.md, on loopback: nginx runs the
shipped ``deploy/nginx.conf`` in front of two gunicorn instances (two boxes,
``deploy/gunicorn.conf.py``, two workers each) that share one thumbnail root
and one Redis (or memcached) for the render lock. The claims checked here are
the ones a unit test cannot make: many clients on several processes cause one
render, a hit never reaches Python, errors are never cached, and the faults
of a real deployment (lock cache gone, worker killed, storage refusing writes)
end in a clean answer and no partial file.

Servers come from :mod:`testsuite.harness`; without the binaries these tests
skip (or fail under ``CI=true``).
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from PIL import Image

from restthumbs.api import thumbnail
from restthumbs.signing import sign
from restthumbs.spec import build_spec

from . import harness, images
from .harness.http import Reply, request
from .outcomes import missing_is_skip_or_fail
from .utils import files_under

pytestmark = pytest.mark.integration

CLIENTS = 32
LOCK_TIMEOUT = 5  # the shared stack: a cold render here takes a fraction of that
KILL_LOCK_TIMEOUT = 2  # the killed-worker test waits this long for the lock to expire
PUBLIC = "public, max-age=2592000"  # THUMBNAILS_CACHE_MAX_AGE's default, as in nginx.conf
HTTP_TIMEOUT = 30


# -- HTTP ---------------------------------------------------------------------


def concurrently(count: int, call: Callable[[], Reply]) -> list[Reply]:
    """Run ``call`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    replies: list[Reply | BaseException] = [RuntimeError("no reply")] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=HTTP_TIMEOUT)
            replies[i] = call()
        except BaseException as e:  # reported below, in the test's thread
            replies[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HTTP_TIMEOUT * 2)
    errors = [r for r in replies if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} clients failed, first: {errors[0]!r}"
    return replies  # type: ignore[return-value]


# -- the deployment -----------------------------------------------------------


@dataclass
class Stack:
    """nginx -> gunicorn instances, with the lock cache and the directories they share."""

    cache: harness.CacheServer
    apps: list[harness.Gunicorn]
    nginx: harness.Nginx
    sources: Path
    thumbnails: Path

    def url(self, source: str, size: str, method: str = "crop", ext: str = ".jpg") -> str:
        return self.nginx.url(thumbnail(source, size, method, ext).url)

    def rendered(self, source: str, size: str, method: str = "crop", ext: str = ".jpg") -> int:
        """How many times any instance logged the render of this thumbnail."""
        needle = f"Rendered {thumbnail(source, size, method, ext).name} in "
        return sum(line.count(needle) for app in self.apps for line in app.log_lines())

    def describe(self) -> str:
        return "\n".join([self.nginx.describe(), *(app.describe() for app in self.apps)])


def write_source(directory: Path, name: str, content: bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@contextmanager
def deployment(
    directory: Path,
    cache: harness.CacheServer,
    *,
    instances: int = 2,
    thumbnails: Path | None = None,
    **gunicorn_options: object,
) -> Iterator[Stack]:
    """``instances`` gunicorn "boxes" on the shared directories, behind one nginx."""
    sources = harness.make_dir(directory / "media")
    thumbs = thumbnails or harness.make_dir(directory / "thumbnails")
    with ExitStack() as stack:
        apps = [
            stack.enter_context(
                harness.gunicorn_server(
                    directory,
                    f"box{i}-{uuid.uuid4().hex[:6]}",
                    cache=cache.cache,
                    sources=sources,
                    thumbnails=thumbs,
                    secret_key=settings.SECRET_KEY,
                    **gunicorn_options,  # type: ignore[arg-type]
                )
            )
            for i in range(instances)
        ]
        nginx = stack.enter_context(
            harness.shipped_nginx(
                directory, [app.port for app in apps], thumbs, name=f"nginx-{uuid.uuid4().hex[:6]}"
            )
        )
        yield Stack(cache, apps, nginx, sources, thumbs)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with harness.workspace() as path:
        yield path


@pytest.fixture(scope="module")
def redis(workdir: Path) -> Iterator[harness.CacheServer]:
    with harness.redis_server(workdir) as server:
        yield server


@pytest.fixture(scope="module")
def stack(workdir: Path, redis: harness.CacheServer) -> Iterator[Stack]:
    """Two boxes sharing Redis, behind nginx; tests use distinct source names."""
    with deployment(workdir, redis, settings={"THUMBNAILS_LOCK_TIMEOUT": LOCK_TIMEOUT}) as s:
        yield s


@pytest.fixture(params=["redis", "memcached"])
def any_stack(request: pytest.FixtureRequest, workdir: Path) -> Iterator[Stack]:
    """The shared Redis stack, or a fresh one whose locks live in memcached."""
    if request.param == "redis":
        yield request.getfixturevalue("stack")
        return
    with harness.memcached_server(workdir) as memcached:
        with deployment(
            workdir, memcached, settings={"THUMBNAILS_LOCK_TIMEOUT": LOCK_TIMEOUT}
        ) as s:
            yield s


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def wait_logged(app: harness.Gunicorn, needle: str, timeout: float) -> None:
    """Until ``needle`` is in the box's access log: gunicorn logs just after it answers."""
    wait_until(
        lambda: any(needle in line for line in app.access_lines()),
        timeout,
        f"{needle} in {app.access_log}",
    )


def request_path(url: str) -> str:
    return urlsplit(url).path


# -- one render for many clients ----------------------------------------------


def test_many_clients_on_two_boxes_cause_one_render(any_stack: Stack) -> None:
    """32 clients at once, through nginx, spread over two boxes: one render, one file.

    The source is large enough (a 4000x3000 PNG) that the render is still going
    when every request has arrived, so both boxes see the miss and all but one
    request must wait on the shared lock.
    """
    s = any_stack
    source = f"crowd-{s.cache.name}.png"
    write_source(
        s.sources, source, images.encode(images.photo((4000, 3000)), "PNG", compress_level=1)
    )
    url = s.url(source, "200x150")

    replies = concurrently(CLIENTS, lambda: request(url))

    assert [r.status for r in replies] == [200] * CLIENTS, s.describe()
    assert len({r.body for r in replies}) == 1
    assert s.rendered(source, "200x150") == 1, s.describe()
    # Both "boxes" were asked: the single render is the shared lock's doing.
    path = request_path(url)
    for app in s.apps:
        wait_logged(app, path, timeout=5)
    stored = s.thumbnails / thumbnail(source, "200x150").name
    assert stored.read_bytes() == replies[0].body
    assert replies[0].image().size == (200, 150)
    assert files_under(stored.parent) == [stored.name]  # no temporary file left behind


# -- nginx serves hits --------------------------------------------------------


def test_a_hit_never_reaches_gunicorn(stack: Stack) -> None:
    write_source(stack.sources, "hit.jpg", images.jpeg_bytes())
    url = stack.url("hit.jpg", "120x90", "scale", ".webp")

    cold = request(url)
    hit = request(url)
    revalidated = request(url, headers={"If-None-Match": hit.headers["ETag"]})

    assert cold.status == 200, stack.describe()
    assert cold.all("Cache-Control") == [PUBLIC]  # Django's, kept across X-Accel-Redirect
    assert cold.headers["Content-Type"] == "image/webp"
    assert hit.status == 200
    assert hit.body == cold.body
    assert hit.all("Cache-Control") == [PUBLIC]  # nginx's own, for a file it sent
    assert hit.all("X-Content-Type-Options") == ["nosniff"]
    assert revalidated.status == 304
    assert revalidated.all("Cache-Control") == [PUBLIC]

    # A marker request straight to each box: once its line is logged, any line
    # the hit would have caused on that box is logged too.
    for app in stack.apps:
        marker = f"/__marker_{uuid.uuid4().hex}__"
        request(app.url(marker))
        wait_logged(app, marker, timeout=10)
    path = request_path(url)
    reached = [line for app in stack.apps for line in app.access_lines() if path in line]
    assert len(reached) == 1, reached  # the cold request only
    served = [line for line in stack.nginx.access_lines() if path in line]
    assert len(served) == 3
    assert "upstream=-" not in served[0]
    assert all("upstream=-" in line for line in served[1:])


def test_versioned_urls_through_nginx(stack: Stack) -> None:
    """``<secret>.v<version>.<ext>``: rendered once, then a plain file hit for nginx; a
    replaced source under a new version is a new URL, while the old URL still serves the
    old file (what a CDN keeps); a tampered version is a 401, never stored."""
    write_source(stack.sources, "versioned.jpg", images.jpeg_bytes((400, 300)))
    old = thumbnail("versioned.jpg", "80x60", version="20240501T120000000000Z")
    url = stack.nginx.url(old.url)

    cold, hit = request(url), request(url)
    assert cold.status == 200, stack.describe()
    assert hit.status == 200 and hit.body == cold.body
    assert hit.headers["Content-Type"] == "image/jpeg"
    assert hit.all("Cache-Control") == [PUBLIC]
    assert (stack.thumbnails / old.name).read_bytes() == cold.body
    served = [line for line in stack.nginx.access_lines() if request_path(url) in line]
    assert len(served) == 2 and "upstream=-" in served[1]  # the hit never left nginx

    write_source(stack.sources, "versioned.jpg", images.jpeg_bytes((400, 200)))
    new = thumbnail("versioned.jpg", "80x60", version="20240601T120000000000Z")
    assert new.url != old.url
    fresh = request(stack.nginx.url(new.url))
    assert fresh.status == 200 and fresh.body != cold.body
    assert request(url).body == cold.body  # the old URL, the old file: never overwritten

    tampered = request(url.replace(".v20240501T120000000000Z.", ".v20240701T120000000000Z."))
    assert tampered.status == 401
    assert tampered.all("Cache-Control") == ["no-store"]
    assert sorted(p.name for p in (stack.thumbnails / old.name).parent.iterdir()) == sorted(
        [old.name.rsplit("/", 1)[1], new.name.rsplit("/", 1)[1]]
    )


# -- errors are no-store, through nginx too -----------------------------------


def test_errors_through_nginx_are_no_store_and_not_cached(stack: Stack) -> None:
    write_source(stack.sources, "err.jpg", images.jpeg_bytes())
    good = thumbnail("err.jpg", "100x100")
    secret = good.name.rsplit("/", 1)[1].split(".")[0]
    tampered = good.url.replace(secret, secret[:-1] + ("0" if secret[-1] != "0" else "1"))
    big = build_spec("err.jpg", "5000x5000", "crop", ".jpg")  # over THUMBNAILS_MAX_SIZE
    too_big = "/" + quote(big.name(sign(big)), safe="/")
    later = thumbnail("later.jpg", "100x100").url  # its source does not exist yet

    cases = {
        tampered: 401,
        too_big: 400,
        later: 404,
        "/err.jpg/100x100/crop/.tmp-0a1b2c.part": 404,  # a render in progress: never served
    }
    for path, status in cases.items():
        reply = request(stack.nginx.url(path))
        assert (reply.status, reply.all("Cache-Control")) == (status, ["no-store"]), (
            path,
            stack.describe(),
        )
    posted = request(stack.nginx.url(good.url), method="POST")
    assert (posted.status, posted.all("Cache-Control")) == (405, ["no-store"])

    # The refused thumbnail was not stored, and nothing kept the 404: once the
    # source exists the same URL renders.
    assert not (stack.thumbnails / "err.jpg").exists()
    write_source(stack.sources, "later.jpg", images.jpeg_bytes())
    reply = request(stack.nginx.url(later))
    assert (reply.status, reply.all("Cache-Control")) == (200, [PUBLIC])


#: Raw URL pieces for nginx: percent-encodings it decodes (dots, slashes, NUL, the
#: backslash), double encodings it does not, and plain traversal.
RAW_PIECES = [
    "fuzz.jpg", "..", "%2e%2e", "%2E%2e", ".%2e", "%2f", "%2F..%2F", "%00", "%5c", "%5C..",
    "%252e%252e", "%c3%a9", "%ff", "%", "%zz", ".", "", "~root", "etc", "passwd", "x" * 300,
    ".tmp-1.part", "thumbnails", "100x100", "crop", "a;b", "a%3Bb", "%3f", "%23",
]  # fmt: skip


def test_fuzzed_raw_paths_through_nginx(stack: Stack) -> None:
    """600 seeded raw request paths through the shipped nginx and both boxes.

    nginx decodes and normalises the path before try_files; Django decodes it
    again for the view. Whatever the mix: never a 5xx, every error no-store,
    the sources untouched, and whatever landed in the thumbnail root is a
    thumbnail that decodes.
    """
    write_source(stack.sources, "fuzz.jpg", images.jpeg_bytes())
    sources_before = files_under(stack.sources)
    good = thumbnail("fuzz.jpg", "100x100")
    secret = good.name.rsplit("/", 1)[1].removesuffix(".jpg")
    rng = random.Random(1122)
    statuses: dict[int, int] = {}
    for _ in range(600):
        source = "/".join(rng.choice(RAW_PIECES) for _ in range(rng.randint(1, 4)))
        size = rng.choice(["100x100", "0x0", "%31%30x10", "x", ""])
        method = rng.choice(["crop", "%63rop", "", ".."])
        last = rng.choice([secret, "0" * 64, "", "%2e%2e"]) + rng.choice(
            [".jpg", ".%6apg", "", "."]
        )
        path = f"/{source}/{size}/{method}/{last}"
        if rng.random() < 0.05:
            path = good.url  # a real one now and then: rendered once, then nginx's
        reply = request(stack.nginx.url(path), method=rng.choice(["GET", "GET", "HEAD"]))
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        assert reply.status < 500, (path, reply.status, reply.body[:200], stack.describe())
        if reply.status >= 400:
            assert reply.all("Cache-Control") == ["no-store"], (path, reply.status)
    assert files_under(stack.sources) == sources_before
    assert good.name in files_under(stack.thumbnails)
    for name in files_under(stack.thumbnails):
        with Image.open(stack.thumbnails / name) as im:
            im.verify()
    assert {200, 400, 401, 404} <= set(statuses), statuses


def test_a_temporary_file_on_disk_is_never_served(stack: Stack) -> None:
    partial = stack.thumbnails / "part.jpg" / "100x100" / "crop" / ".tmp-0a1b2c.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\xff\xd8 half a jpeg")
    reply = request(stack.nginx.url("/part.jpg/100x100/crop/.tmp-0a1b2c.part"))
    assert (reply.status, reply.all("Cache-Control")) == (404, ["no-store"])
    assert b"half a jpeg" not in reply.body


def test_nginx_own_errors_are_no_store(workdir: Path) -> None:
    """No worker answers (a closed port): nginx's 502 must not be cached either."""
    closed = harness.free_port()
    thumbs = harness.make_dir(workdir / "no-backend")
    with harness.shipped_nginx(workdir, [closed], thumbs, name="nginx-no-backend") as nginx:
        reply = request(nginx.url(thumbnail("a.jpg", "10x10").url))
    assert (reply.status, reply.all("Cache-Control")) == (502, ["no-store"])


# -- faults -------------------------------------------------------------------


def test_lock_cache_killed_mid_run_still_serves(workdir: Path) -> None:
    with harness.redis_server(workdir) as redis, deployment(workdir, redis, instances=1) as s:
        write_source(s.sources, "nolock.jpg", images.jpeg_bytes())
        assert request(s.url("nolock.jpg", "50x50")).status == 200
        assert not [line for line in s.apps[0].log_lines() if "WARNING" in line]

        redis.kill()
        sizes = ["60x60", "70x70", "80x80"]
        replies = [request(s.url("nolock.jpg", size)) for size in sizes]

        assert [r.status for r in replies] == [200] * len(sizes), s.describe()
        assert [r.image().size for r in replies] == [(60, 60), (70, 70), (80, 80)]
        assert all(r.all("Cache-Control") == [PUBLIC] for r in replies)
        assert [s.rendered("nolock.jpg", size) for size in sizes] == [1, 1, 1]
        warnings = [line for line in s.apps[0].log_lines() if " WARNING " in line]
        assert len(warnings) == len(sizes), s.describe()
        assert all("unreachable" in line and "without the lock" in line for line in warnings)


def lock_keys(cache: harness.CacheServer) -> list[bytes]:
    import redis as redis_client

    client = redis_client.Redis(host="127.0.0.1", port=cache.port, socket_timeout=5)
    try:
        return list(client.scan_iter(match="*restthumbs:lock:*"))
    finally:
        client.close()


def test_worker_killed_mid_render(workdir: Path, stack: Stack) -> None:
    """SIGKILL the worker rendering a large source: no file; the lock frees itself.

    The request goes straight to one box, so the kill is seen as it happens
    (through nginx, the GET would be retried on the other box). The worker is
    the one holding the accepted end of our connection (/proc), killed as soon
    as the render lock shows up in Redis, long before the render can finish.
    """
    source, size, method, ext = "kill/big.png", "1000x1000", "scale", ".png"
    write_source(
        stack.sources, source, images.encode(images.photo((8000, 6000)), "PNG", compress_level=1)
    )
    name = thumbnail(source, size, method, ext).name
    final = stack.thumbnails / name
    with harness.gunicorn_server(
        workdir,
        "box-kill",
        cache=stack.cache.cache,
        sources=stack.sources,
        thumbnails=stack.thumbnails,
        secret_key=settings.SECRET_KEY,
        settings={"THUMBNAILS_LOCK_TIMEOUT": KILL_LOCK_TIMEOUT},
    ) as box:
        path = thumbnail(source, size, method, ext).url
        with harness.Connection("127.0.0.1", box.port, timeout=HTTP_TIMEOUT) as conn:
            conn.send("GET", path)
            client_port = conn.local_port
            wait_until(lambda: bool(lock_keys(stack.cache)), 15, "the render lock in Redis")
            locked_at = time.monotonic()
            os.kill(box.worker_serving(client_port), signal.SIGKILL)
            with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
                conn.receive()

        assert not final.exists()
        assert all(f.startswith(".tmp-") for f in files_under(final.parent)), files_under(
            final.parent
        )
        rendered_before = sum(line.count(f"Rendered {name} ") for line in box.log_lines())
        assert rendered_before == 0, "the render finished before the kill; the test proves nothing"

        # The dead worker's lock is still in Redis: the next request waits for it
        # to expire (THUMBNAILS_LOCK_TIMEOUT), takes it over and renders.
        reply = request(box.url(path))
        waited = time.monotonic() - locked_at

    assert reply.status == 200, box.describe()
    assert KILL_LOCK_TIMEOUT - 0.1 <= waited < KILL_LOCK_TIMEOUT + 15
    # Straight from gunicorn, the answer is nginx's cue; the file is complete.
    assert reply.headers["X-Accel-Redirect"] == "/thumbnails/" + quote(name, safe="/")
    with Image.open(final) as im:
        im.load()
        assert (im.format, im.size) == ("PNG", (1000, 750))
    assert sum(line.count(f"Rendered {name} ") for line in box.log_lines()) == 1
    assert not lock_keys(stack.cache)


def test_storage_refusing_writes(workdir: Path, redis: harness.CacheServer) -> None:
    """A read-only thumbnail root: a clean 503 with no-store, nothing written; then 200.

    gunicorn runs without the right to ignore file modes (root is dropped to an
    ordinary owner), so a 0555 directory refuses the write for real.
    """
    thumbs = harness.make_dir(workdir / "readonly-thumbnails")
    thumbs.chmod(0o555)
    with deployment(workdir, redis, instances=1, thumbnails=thumbs, respect_permissions=True) as s:
        write_source(s.sources, "ro.jpg", images.jpeg_bytes())
        url = s.url("ro.jpg", "64x64")

        refused = request(url)
        assert refused.status == 503, s.describe()
        assert refused.all("Cache-Control") == ["no-store"]
        assert files_under(thumbs) == []
        assert any("storage_write" in line for line in s.apps[0].log_lines()), s.describe()

        thumbs.chmod(0o755)
        served = request(url)

    assert (served.status, served.all("Cache-Control")) == (200, [PUBLIC])
    assert served.image().size == (64, 64)
    assert files_under(thumbs) == [thumbnail("ro.jpg", "64x64").name]


# -- the harness itself ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_server_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    """What `.ci/run` relies on: with CI=true a missing binary is a failure, not a skip.

    The harness raises Missing; conftest.py passes every test's setup and call
    (and every test module's import) through ``missing_is_skip_or_fail``.
    """
    monkeypatch.setenv("CI", ci)
    with pytest.raises(harness.Missing, match="needed by the integration tests"):
        harness.find_binary("restthumbs-no-such-server")
    with pytest.raises(outcome, match="needed by the integration tests"):
        with missing_is_skip_or_fail():
            harness.find_binary("restthumbs-no-such-server")
