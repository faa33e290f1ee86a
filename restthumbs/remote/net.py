"""Resolve once, check every address, connect to exactly that address (no DNS rebinding).

Shared by the image fetcher (:mod:`.fetch`) and the browser's proxy
(:mod:`.proxy`). A host name is resolved once per connection, through
``THUMBNAILS_REMOTE_HOSTS`` first (a hosts file of the setting's own), then the
system resolver; every address it gives is checked (:meth:`Policy.check_address`)
before any is tried, so a name that answers one public and one private address
is refused whatever the order. The socket then connects to one of those very
addresses, never to the name, and the address at the other end
(``getpeername()``) is checked once more. TLS sends the name in SNI and
verifies the certificate against the name (``ssl.create_default_context()``:
the system's CAs, or ``SSL_CERT_FILE``).

Deadlines are absolute (``time.monotonic()``); failures are the domain errors
a view turns into 502 (:class:`OriginUnavailable`) or 504 (:class:`OriginTimeout`).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time

from ..exceptions import OriginTimeout, OriginUnavailable
from .naming import RemoteURL
from .policy import IPAddress, Policy


def remaining(deadline: float, what: str) -> float:
    """Seconds left before ``deadline``; :class:`OriginTimeout` if none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise OriginTimeout(detail=f"{what}: out of time")
    return left


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (tests replace this)."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _lookup(host: str, port: int, deadline: float) -> list[str]:
    """:func:`system_resolve` within the deadline (``getaddrinfo`` itself has no timeout)."""
    result: list[str] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.extend(system_resolve(host, port))
        except BaseException as e:  # handed to the caller's thread
            failure.append(e)

    thread = threading.Thread(target=run, name="restthumbs-resolve", daemon=True)
    thread.start()
    thread.join(remaining(deadline, f"resolving {host}"))
    if thread.is_alive():
        raise OriginTimeout(detail=f"resolving {host}: no answer in time")
    if failure:
        raise OriginUnavailable(detail=f"resolving {host}: {failure[0]}") from failure[0]
    return result


def resolve(url: RemoteURL, policy: Policy, deadline: float) -> list[IPAddress]:
    """Every address of ``url``'s host, each checked; :class:`RemoteAddressRefused` if any is refused."""
    literal = url.ip
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    elif url.host in policy.hosts:
        addresses = list(policy.hosts[url.host])
    else:
        addresses = []
        for text in _lookup(url.host, url.port, deadline):
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
    if not addresses:
        raise OriginUnavailable(detail=f"{url.host} has no address")
    for address in addresses:
        policy.check_address(url.host, address)
    return addresses


def connect(
    url: RemoteURL,
    addresses: list[IPAddress],
    policy: Policy,
    connect_timeout: float,
    deadline: float,
    *,
    tls: bool | None = None,
) -> socket.socket:
    """A socket connected to one of ``addresses`` (checked), wrapped in TLS for https.

    ``tls=False``: never wrapped (the browser's proxy tunnels the browser's own TLS).
    """
    errors = []
    for address in addresses:
        timeout = min(connect_timeout, remaining(deadline, f"connecting to {url.netloc}"))
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((str(address), url.port))
            peer = ipaddress.ip_address(sock.getpeername()[0])
            policy.check_address(url.host, peer)  # the address actually connected to
        except OSError as e:
            sock.close()
            errors.append(f"{address}: {e}")
            continue
        except BaseException:
            sock.close()
            raise
        if url.scheme == "https" if tls is None else tls:
            return _tls(sock, url, deadline)
        return sock
    detail = f"connecting to {url.netloc}: {'; '.join(errors)}"
    if any("timed out" in error for error in errors):
        raise OriginTimeout(detail=detail)
    raise OriginUnavailable(detail=detail)


def tls_context() -> ssl.SSLContext:
    """Certificates verified against the system's CAs (``SSL_CERT_FILE`` is honoured)."""
    return ssl.create_default_context()


def _tls(sock: socket.socket, url: RemoteURL, deadline: float) -> socket.socket:
    sock.settimeout(remaining(deadline, f"TLS with {url.netloc}"))
    try:
        return tls_context().wrap_socket(sock, server_hostname=url.host)
    except (OSError, ssl.SSLError) as e:
        sock.close()
        if isinstance(e, TimeoutError):
            raise OriginTimeout(detail=f"TLS with {url.netloc}: {e}") from e
        raise OriginUnavailable(detail=f"TLS with {url.netloc}: {e}") from e
