"""What the remote-source tests share: settings, a test CA, and how to ask for a thumbnail.

Everything is on loopback. ``127.0.0.1/32`` is the one network the tests
allow (``THUMBNAILS_REMOTE_ALLOWED_NETWORKS``); an origin bound on
``127.0.0.2`` stands for an internal host that must stay unreachable (the same
rules as ``10.0.0.0/8``, but a real server that would record a request).
Host names are given addresses by ``THUMBNAILS_REMOTE_HOSTS`` (a hosts file of
the settings' own): no DNS, no internet.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import override_settings

from restthumbs.api import thumbnail_url
from restthumbs.remote.naming import to_source_path

from . import images

IMAGE_STORAGE = "restthumbs.remote.storage.RemoteImageStorage"
SITE_STORAGE = "restthumbs.remote.storage.WebsiteStorage"
SOURCES = {"remote": IMAGE_STORAGE, "site": SITE_STORAGE}
ALLOWED = ["127.0.0.1/32"]


def remote_settings(allowed_urls: list[str], **extra: Any) -> override_settings:
    """Remote sources on, the test network allowed, ``allowed_urls`` for images and pages."""
    values: dict[str, Any] = {
        "THUMBNAILS_SOURCES": SOURCES,
        "THUMBNAILS_REMOTE_ALLOWED_URLS": allowed_urls,
        "THUMBNAILS_SITE_ALLOWED_URLS": allowed_urls,
        "THUMBNAILS_REMOTE_ALLOWED_NETWORKS": ALLOWED,
    }
    values.update(extra)
    return override_settings(**values)


def thumb(
    url: str,
    size: str = "100x100",
    method: str = "crop",
    ext: str = ".jpg",
    *,
    segment: str = "remote",
) -> str:
    """The signed thumbnail URL of the remote ``url``."""
    return thumbnail_url(to_source_path(url, segment), size, method, ext)


def png_bytes(size: tuple[int, int] = (320, 240)) -> bytes:
    return images.encode(images.photo(size), "PNG")


def jpeg_bytes(size: tuple[int, int] = (320, 240)) -> bytes:
    return images.jpeg_bytes(size)


def kept_files(media: Path) -> list[Path]:
    """The originals kept in the default ``THUMBNAILS_REMOTE_ROOT`` (beside MEDIA_ROOT)."""
    root = media.parent / "remote-sources"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".gitignore")


@dataclass(frozen=True)
class TestCA:
    """A certificate authority and one server certificate, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_ca(directory: Path, names: list[str]) -> TestCA:
    """A CA, and a certificate it signed for ``names`` (DNS names or IP addresses)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "restthumbs test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ca_usage, critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        # Python 3.13 verifies with VERIFY_X509_STRICT, which wants the issuer's key named.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = TestCA(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@contextmanager
def counting_resolver(monkeypatch: Any, answers: list[list[str]]) -> Iterator[list[str]]:
    """Replace the system resolver: the n-th lookup gets ``answers[n]`` (the last repeats).

    Yields the names looked up, in order.
    """
    from restthumbs.remote import net

    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    monkeypatch.setattr(net, "system_resolve", resolve)
    yield asked
