"""Versioned URLs: ``<source>/<size>/<method>/<secret>.v<version>.<ext>`` (restthumbs.versions).

The claims: every URL without a version is byte for byte what it was before versions
existed (the golden URLs below were printed by the code before this change, under the
test suite's SECRET_KEY); a version is signed, so a new version is a new URL and a
tampered one is a 401; the route, the stored name and the walk all know the shape.
"""

from __future__ import annotations

import datetime
import io
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.core.management import call_command
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from django.urls import resolve
from django.utils.crypto import salted_hmac

from restthumbs import thumbnail_url
from restthumbs.api import thumbnail
from restthumbs.exceptions import BadSignature, InvalidSpec
from restthumbs.jinja2 import environment
from restthumbs.signing import sign, verify
from restthumbs.spec import build_spec, is_thumbnail_name, parse_name, split_version
from restthumbs.storage import source_storage, thumbnail_storage
from restthumbs.versions import format_version
from restthumbs.walk import find_thumbnails, walk_images

from . import images
from .test_api import exploding  # noqa: F401  (a fixture)
from .utils import files_under

HEX = "[0-9a-f]{64}"
CLI = [sys.executable, "-m", "restthumbs"]

#: Printed by the unversioned code (git HEAD before versions) with testsuite.settings.
GOLDEN = [
    (
        ("animals/kitten.jpg", "100x100", "crop", ".jpg"),
        "/animals/kitten.jpg/100x100/crop/"
        "4ce516aa991cec00c4ff4cffe9d3629f02a4cb3e44d31da31b2deebf11d87752.jpg",
    ),
    (
        ("动物/kitten 1 (%).jpg", "x64", "smart", ".webp"),
        "/%E5%8A%A8%E7%89%A9/kitten%201%20%28%25%29.jpg/x64/smart/"
        "33ff3f2634e489bc22e6967830d9555de4c511a1e54cc4a5cbe82f2279110d4c.webp",
    ),
    (
        ("a/b.png", "200x", "scale", "png"),
        "/a/b.png/200x/scale/fc4b1ff8faf15acb99d1f681923320bcf205e41c18ef1b1c5b071952abd7cb7d.png",
    ),
]


# -- unversioned URLs are unchanged -------------------------------------------------


@pytest.mark.parametrize(("args", "url"), GOLDEN)
def test_unversioned_urls_are_byte_identical(args: tuple[str, ...], url: str) -> None:
    assert thumbnail_url(*args) == url
    assert thumbnail_url(*args, version=None) == url
    assert thumbnail_url(*args, version="") == url  # an empty version is no version


def test_the_unversioned_message_is_the_four_parts() -> None:
    """The secret is still salted_hmac over source, size, method and ext: nothing added."""
    spec = build_spec("animals/kitten.jpg", "100x100", "crop", "jpg")
    expected = salted_hmac(
        "restthumbs.signing",
        "animals/kitten.jpg\x00100x100\x00crop\x00jpg",
        secret="restthumbs-test-secret-key-not-for-production",
        algorithm="sha256",
    ).hexdigest()
    assert sign(spec) == expected


# -- the version in the URL ----------------------------------------------------------


def test_a_versioned_url_has_its_version_before_the_extension() -> None:
    url = thumbnail_url("animals/kitten.jpg", "100x100", "crop", ".jpg", version="3")
    assert re.fullmatch(rf"/animals/kitten\.jpg/100x100/crop/{HEX}\.v3\.jpg", url)
    spec, secret = parse_name(url[1:])
    assert spec.version == "3"
    verify(spec, secret)


def test_a_new_version_is_a_new_url_and_a_new_secret() -> None:
    urls = {
        thumbnail_url("a.jpg", "100x100", version=version)
        for version in (None, "1", "2", "2a", "abc_DEF-9")
    }
    assert len(urls) == 5
    secrets = {url.rsplit("/", 1)[1].split(".")[0] for url in urls}
    assert len(secrets) == 5  # the version is in the HMAC, not only appended
    assert thumbnail_url("a.jpg", "100x100", version=2) == thumbnail_url(
        "a.jpg", "100x100", version="2"
    )


def test_versions_from_what_a_page_has() -> None:
    utc = datetime.timezone.utc
    aware = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=utc)
    paris = aware.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    assert format_version(aware) == "20240501T120000123456Z"
    assert format_version(paris) == "20240501T120000123456Z"  # one instant, one version
    assert format_version(aware.replace(tzinfo=None)) == "20240501T120000123456"
    assert format_version(datetime.datetime(5, 1, 2)) == "00050102T000000000000"
    assert format_version(datetime.date(2024, 5, 1)) == "20240501"
    assert format_version(42) == "42"
    assert format_version(-1) == "-1"
    assert format_version(uuid.UUID(int=255)) == "0" * 30 + "ff"
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert format_version(digest) == digest
    assert format_version(None) is None
    assert format_version("") is None


@pytest.mark.parametrize(
    "value", [True, 1.5, b"1", "a.b", "a/b", "a b", "é", "x" * 65, "1\n", object()]
)
def test_a_version_that_is_not_exact_is_refused(value: Any) -> None:
    with pytest.raises(InvalidSpec):
        format_version(value)
    with pytest.raises(InvalidSpec):
        thumbnail("a.jpg", "10x10", version=value)


def test_building_a_versioned_url_does_no_io(exploding: None) -> None:  # noqa: F811
    """Storages and caches rigged to fail (test_api's ``exploding``), no database mark."""
    day = datetime.date(2024, 1, 1)
    urls = [thumbnail_url(f"a{i}.jpg", "10x10", version=day) for i in range(5)]
    urls.append(render('{% thumbnail "a.jpg" "10x10" version=v %}', {"v": day}))
    assert all(url.endswith(".v20240101.jpg") for url in urls)


# -- the grammar ---------------------------------------------------------------------


def test_split_version_reads_only_a_well_formed_version() -> None:
    assert split_version("abc.v12") == ("abc", "12")
    assert split_version("abc") == ("abc", None)
    assert split_version("abc.v") == ("abc.v", None)
    assert split_version("abc.v1.2") == ("abc.v1.2", None)  # never: "." is not in a version
    assert split_version("abc.v!") == ("abc.v!", None)
    assert split_version(".v1") == ("", "1")


def test_stored_names_are_recognised_with_or_without_a_version(
    write_source: Callable[..., Path],
) -> None:
    unversioned = thumbnail("a.jpg", "10x10").name
    versioned = thumbnail("a.jpg", "10x10", version="7").name
    assert is_thumbnail_name(unversioned) and is_thumbnail_name(versioned)
    assert not is_thumbnail_name(versioned.replace(".v7.", ".v7!."))
    assert not is_thumbnail_name(versioned.replace(".v7.", ".x7."))


def test_the_route_claims_versioned_paths() -> None:
    url = thumbnail_url("animals/kitten.jpg", "100x100", version="20240501T120000123456Z")
    assert resolve(url).url_name == "thumbnail"


# -- through the view ----------------------------------------------------------------


def test_a_versioned_url_renders_and_is_stored_under_its_name(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", images.photo((300, 200)))
    thumb = thumbnail("a.jpg", "60x40", version="5")
    response = client.get(thumb.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert files_under(thumbs_dir) == [thumb.name]
    assert thumb.name.endswith(".v5.jpg")
    # One source, two versions, side by side: a purge of the source finds both.
    other = thumbnail("a.jpg", "60x40", version="6")
    assert client.get(other.url).status_code == 200
    names, _ = find_thumbnails(thumbnail_storage(), "a.jpg")
    assert names == sorted([thumb.name, other.name])


def _tampered(url: str, old: str, new: str) -> str:
    assert old in url
    return url.replace(old, new)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: _tampered(url, ".v5.", ".v6."),  # another version
        lambda url: _tampered(url, ".v5.", ".v5a."),
        lambda url: _tampered(url, ".v5.", "."),  # the version dropped
        lambda url: _tampered(url, ".v5.", ".v5!."),  # malformed: read as the secret
        lambda url: _tampered(url, ".v5.", ".V5."),
        lambda url: _tampered(url, ".v5.", ".v5.v5."),
    ],
)
def test_tampering_with_the_version_is_401_and_writes_nothing(
    tamper: Callable[[str], str], client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", images.photo((300, 200)))
    url = tamper(thumbnail_url("a.jpg", "60x40", version="5"))
    response = client.get(url)
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"
    assert files_under(thumbs_dir) == []


def test_an_unversioned_secret_with_a_version_added_is_401(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", images.photo((300, 200)))
    url = thumbnail_url("a.jpg", "60x40")
    response = client.get(url.removesuffix(".jpg") + ".v1.jpg")
    assert response.status_code == 401
    assert files_under(thumbs_dir) == []
    with pytest.raises(BadSignature):
        _, secret = parse_name(unquote(url[1:]))
        verify(build_spec("a.jpg", "60x40", "crop", "jpg", "1"), secret)


# -- the tag, Jinja2, the commands ----------------------------------------------------


def render(source: str, context: dict[str, Any] | None = None) -> str:
    return Template("{% load thumbnail %}" + source).render(Context(context or {}))


def test_the_tag_takes_a_version() -> None:
    updated = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    expected = thumbnail_url("a.jpg", "100x100", "crop", ".jpg", version=updated)
    assert render('{% thumbnail "a.jpg" "100x100" "crop" ".jpg" version=v %}', {"v": updated}) == (
        expected
    )
    assert (
        render(
            '{% thumbnail "a.jpg" "100x100" "crop" ".jpg" version=v as t %}{{ t.url }}',
            {"v": updated},
        )
        == expected
    )
    assert ".v20240501T120000000000Z.jpg" in expected
    literal = render('{% thumbnail "a.jpg" "100x100" version="abc" %}')
    assert literal == thumbnail_url("a.jpg", "100x100", version="abc")


def test_the_tag_without_a_version_value_gives_the_unversioned_url() -> None:
    out = render('{% thumbnail "a.jpg" "100x100" "crop" ".jpg" version=missing %}')
    assert out == thumbnail_url("a.jpg", "100x100", "crop", ".jpg")


def test_a_bad_version_in_a_page() -> None:
    assert render('{% thumbnail "a.jpg" "100x100" version=v %}', {"v": 1.5}) == ""
    with override_settings(THUMBNAILS_DEBUG=True), pytest.raises(TemplateSyntaxError):
        render('{% thumbnail "a.jpg" "100x100" version="a.b" %}')
    with override_settings(THUMBNAILS_DEBUG=True), pytest.raises(InvalidSpec):
        render('{% thumbnail "a.jpg" "100x100" version=v %}', {"v": 1.5})


def test_jinja2_takes_a_version() -> None:
    env = environment()
    out = env.from_string("{{ thumbnail_url('a.jpg', '10x10', version=v) }}").render(v=3)
    assert out == thumbnail_url("a.jpg", "10x10", version=3)


def test_thumbnails_url_takes_a_version() -> None:
    out = io.StringIO()
    call_command("thumbnails_url", "a.jpg", "10x10", "crop", "jpg", "--version", "9", stdout=out)
    assert out.getvalue() == thumbnail_url("a.jpg", "10x10", version="9") + "\n"
    with pytest.raises(Exception, match="Invalid version"):
        call_command("thumbnails_url", "a.jpg", "10x10", "crop", "jpg", version="a b")


def test_restthumbs_url_takes_a_version() -> None:
    done = subprocess.run(
        [*CLI, "url", "a.jpg", "10x10", "crop", ".jpg", "--version", "9", "--secret-key", "k"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"/a\.jpg/10x10/crop/{HEX}\.v9\.jpg\n", done.stdout)


# -- what the walk makes of versioned thumbnails ---------------------------------------


def test_versioned_thumbnails_in_the_source_storage_are_not_sources(
    write_source: Callable[..., Path], media: Path
) -> None:
    """A thumbnail storage nested in the source storage: no thumbnails of thumbnails."""
    write_source("b.jpg", images.photo((30, 20)))
    name = thumbnail("a.jpg", "10x10", version="3").name
    write_source(name, images.photo((10, 10)))
    assert list(walk_images(source_storage())) == ["b.jpg"]
    assert is_thumbnail_name(name)


# -- the responsive tags -----------------------------------------------------------------


def test_srcset_and_picture_take_a_version() -> None:
    from restthumbs.responsive import picture, srcset

    out = render('{% srcset_image "a.jpg" "100x 200x" version=v alt="" %}', {"v": 3})
    urls = re.findall(r"/a\.jpg/[^ \"]+", out)
    assert len(urls) >= 2 and all(url.endswith(".v3.jpg") for url in urls)
    assert " version=" not in out  # an option, not an HTML attribute
    out = render('{% picture "a.jpg" "100x" version="abc" alt="" %}')
    versions = re.findall(r"/[0-9a-f]{64}(?:\.v(\w+))?\.(?:webp|avif|jpg)", out)
    assert versions and set(versions) == {"abc"}
    assert ".vabc.webp" in out and ".vabc.jpg" in out
    assert str(srcset("a.jpg", "100x", version=3)) == render(
        '{% srcset_image "a.jpg" "100x" version=3 %}'
    )
    assert ".v9." in str(picture("a.jpg", "100x", version=9))
    env = environment()
    jinja = env.from_string("{{ srcset('a.jpg', '100x', version=v) }}").render(v=3)
    assert ".v3.jpg" in jinja


def test_a_bad_literal_version_in_a_responsive_tag() -> None:
    with override_settings(THUMBNAILS_DEBUG=True), pytest.raises(TemplateSyntaxError):
        render('{% srcset_image "a.jpg" "100x" version="a b" %}')
    assert render('{% srcset_image "a.jpg" "100x" version=v %}', {"v": 1.5}) == ""
