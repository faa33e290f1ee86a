"""Screenshots of web pages in headless Chromium, every request filtered (docs/remote.md).

:func:`screenshot` renders one page and returns a PNG of its viewport
(``THUMBNAILS_SITE_VIEWPORT`` CSS pixels at a device scale of 1):

1. wait for one of ``THUMBNAILS_SITE_MAX_PAGES`` slots of this process (no
   longer than ``THUMBNAILS_SITE_TIMEOUT``: then a 503 ``busy``);
2. start a :class:`~.proxy.FilteringProxy` and a fresh Chromium
   (:class:`~.devtools.Chromium`, an empty profile) that can only reach the
   network through it and resolves no name itself;
3. deny downloads, dismiss dialogs, deny permission prompts, block pop-ups
   (and close any new page that appears anyway), set the viewport, navigate;
4. wait for the ``load`` event, web fonts and two frames, all within the page's
   time limit, then capture; past the limit the browser and everything it
   started are killed (a 504) and nothing is kept.

The page asked for must match ``THUMBNAILS_SITE_ALLOWED_URLS`` (checked before
this module runs); everything it loads is held to the address rules by the
proxy. A page whose document is refused, missing (404/410) or failing
(another 4xx or 5xx) gives that error, never a screenshot of an error page. A
main frame that ends on another scheme than http(s) is refused.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..conf import app_settings
from ..exceptions import (
    BrowserUnavailable,
    OriginTimeout,
    OriginUnavailable,
    RemoteRefused,
    RemoteTooLarge,
    SourceNotFound,
    ThumbnailBusy,
    ThumbnailError,
)
from .devtools import BrowserGone, Chromium, DevToolsError, Message, PageTimeout
from .naming import RemoteURL
from .policy import Policy
from .proxy import FilteringProxy

#: Executables tried, in order, when ``THUMBNAILS_SITE_BROWSER`` is unset.
BROWSER_NAMES = (
    "/usr/lib/chromium/chromium",  # Debian's binary, without the wrapper script's extra flags
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)

#: Hosts Chromium calls by itself (component updates, sign-in) whatever its switches.
CALLS_HOME = ("update.googleapis.com", "clients2.google.com", "accounts.google.com")

#: After ``load``: web fonts, then two animation frames, so what is drawn is what loaded.
SETTLE = """(async () => {
    try { await document.fonts.ready; } catch (e) {}
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return true;
})()"""


@dataclass(frozen=True)
class Page:
    """One page to render and its limits."""

    url: RemoteURL
    width: int
    height: int
    timeout: float
    connect_timeout: float
    max_bytes: int
    executable: str | None = None

    @classmethod
    def from_settings(cls, url: RemoteURL, width: int, height: int) -> Page:
        return cls(
            url,
            width,
            height,
            timeout=float(app_settings.SITE_TIMEOUT),
            connect_timeout=float(app_settings.REMOTE_CONNECT_TIMEOUT),
            max_bytes=int(app_settings.REMOTE_MAX_BYTES),
            executable=app_settings.SITE_BROWSER,
        )


def find_browser(configured: str | None) -> str:
    """The Chromium executable, or :class:`BrowserUnavailable` saying what was looked for."""
    candidates = (configured,) if configured else BROWSER_NAMES
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable(
        detail=f"no browser found (looked for {', '.join(candidates)}): install chromium "
        "or set THUMBNAILS_SITE_BROWSER"
    )


def browser_flags(proxy_port: int, width: int, height: int) -> list[str]:
    """Chromium's switches: headless, through the proxy only, nothing in the background."""
    proxy = f"127.0.0.1:{proxy_port}"
    flags = [
        "--headless",
        f"--proxy-server=http://{proxy}",
        # Loopback too goes through the proxy. Chromium's own calls home go nowhere: sent
        # directly, to a resolver that resolves nothing (the rules of the line below).
        f"--proxy-bypass-list=<-loopback>;{';'.join(CALLS_HOME)}",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-quic",
        "--block-new-web-contents",
        "--deny-permission-prompts",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        "--mute-audio",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-breakpad",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--no-pings",
        "--password-store=basic",
        "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider,"
        "NetworkTimeServiceQuerying",
    ]
    if os.geteuid() == 0:  # Chromium refuses to run as root with its sandbox
        flags.append("--no-sandbox")
    return flags


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


@contextmanager
def page_slot(pages: int, timeout: float) -> Iterator[None]:
    """One of ``pages`` browser slots of this process, or :class:`ThumbnailBusy`."""
    with _slots_lock:
        slots = _slots.setdefault(pages, threading.BoundedSemaphore(pages))
    if not slots.acquire(timeout=timeout):
        raise ThumbnailBusy(retry_after=max(1, int(timeout)))
    try:
        yield
    finally:
        slots.release()


def screenshot(page: Page, policy: Policy) -> bytes:
    """A PNG of ``page``'s viewport; a domain error if it is refused, missing or too slow."""
    executable = find_browser(page.executable)
    with page_slot(int(app_settings.SITE_MAX_PAGES), page.timeout):
        deadline = time.monotonic() + page.timeout
        with FilteringProxy(
            policy,
            connect_timeout=page.connect_timeout,
            deadline=deadline,
            max_bytes=page.max_bytes,
        ) as proxy:
            try:
                chromium = Chromium(executable, browser_flags(proxy.port, page.width, page.height))
            except OSError as e:
                raise BrowserUnavailable(detail=f"{executable}: {e}") from e
            with chromium:
                try:
                    data = _capture(chromium, page, proxy, deadline)
                except PageTimeout as e:
                    raise OriginTimeout(
                        detail=f"{page.url}: not loaded within THUMBNAILS_SITE_TIMEOUT="
                        f"{page.timeout:g} s; its browser was killed"
                    ) from e
                except (BrowserGone, DevToolsError) as e:
                    raise BrowserUnavailable(detail=f"{executable}: {e}") from e
            if proxy.over_budget:
                raise RemoteTooLarge(
                    detail=f"{page.url}: the page loaded over {page.max_bytes} bytes"
                )
    return data


class _PageState:
    """What the browser said about the page while it loaded."""

    def __init__(self, chromium: Chromium, target: str) -> None:
        self.chromium = chromium
        self.target = target
        self.status: int | None = None
        self.url = ""
        chromium.handlers.update(
            {
                "Page.javascriptDialogOpening": self.dismiss,
                "Target.targetCreated": self.close_extra,
                "Network.responseReceived": self.response,
                "Page.frameNavigated": self.navigated,
            }
        )

    def dismiss(self, event: Message) -> None:
        self.chromium.send("Page.handleJavaScriptDialog", {"accept": False}, event.get("sessionId"))

    def close_extra(self, event: Message) -> None:
        info = event["params"]["targetInfo"]
        if info.get("type") == "page" and info.get("targetId") != self.target:
            self.chromium.send("Target.closeTarget", {"targetId": info["targetId"]})

    def response(self, event: Message) -> None:
        params = event["params"]
        if params.get("type") == "Document" and params.get("frameId") == self.target:
            self.status = int(params["response"]["status"])

    def navigated(self, event: Message) -> None:
        frame = event["params"]["frame"]
        if not frame.get("parentId"):
            self.url = str(frame.get("url", ""))


def _capture(chromium: Chromium, page: Page, proxy: FilteringProxy, deadline: float) -> bytes:
    def call(method: str, params: Message | None = None, session: str | None = None) -> Message:
        return chromium.call(method, params, session, deadline)

    call("Target.setDiscoverTargets", {"discover": True})
    target = str(call("Target.createTarget", {"url": "about:blank"})["targetId"])
    state = _PageState(chromium, target)
    session = str(call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"])
    call("Browser.setDownloadBehavior", {"behavior": "deny"})
    for domain in ("Page.enable", "Network.enable"):
        call(domain, None, session)
    metrics = {"width": page.width, "height": page.height, "deviceScaleFactor": 1, "mobile": False}
    call("Emulation.setDeviceMetricsOverride", metrics, session)
    refused_before = len(proxy.refusals)
    proxy.armed.set()
    navigation = call("Page.navigate", {"url": str(page.url)}, session)
    if navigation.get("isDownload"):
        raise RemoteRefused(detail=f"{page.url} is a download, not a page")
    if navigation.get("errorText"):
        _fail(page, proxy, refused_before, f"navigation failed: {navigation['errorText']}")
    chromium.wait_event("Page.loadEventFired", session, deadline)
    if state.status is not None and state.status >= 400:
        _fail(page, proxy, refused_before, f"answered {state.status}", state.status)
    if not state.url.startswith(("http://", "https://")):
        raise RemoteRefused(detail=f"{page.url} ended on {state.url[:100]!r}")
    call("Runtime.evaluate", {"expression": SETTLE, "awaitPromise": True}, session)
    shot = call("Page.captureScreenshot", {"format": "png", "fromSurface": True}, session)
    return base64.b64decode(shot["data"])


def _fail(
    page: Page, proxy: FilteringProxy, refused_before: int, detail: str, status: int = 0
) -> None:
    """Raise what made the page fail: the proxy's refusal of it, else the origin's answer."""
    refusals = proxy.refusals[refused_before:]
    if refusals:
        raise refusals[0]
    error: ThumbnailError
    if status in (404, 410):
        error = SourceNotFound(detail=f"{page.url} {detail}")
    else:
        error = OriginUnavailable(detail=f"{page.url} {detail}")
    raise error
