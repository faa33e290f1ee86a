"""Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium.

:func:`chromium` starts the browser with an empty profile and no background
networking (this machine's network is closed; Chromium's own calls home would
be refused many times a page). :func:`images_of` reads every ``<img>`` of the
page as the browser sees it; :func:`screenshot` saves a PNG under
:func:`artifacts` (``$RESTTHUMBS_ARTIFACTS``, else a temporary directory).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .missing import find_binary, require_module

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # as root, in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)


@contextmanager
def chromium() -> Iterator[Any]:
    """A Selenium ``webdriver.Chrome`` on Debian's Chromium, quit at exit."""
    webdriver = require_module("selenium.webdriver")
    binary = find_binary("chromium")
    driver_path = find_binary("chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="restthumbs-chromium-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass(frozen=True)
class Img:
    """One ``<img>`` as loaded: its URL, whether it finished, and its decoded size."""

    src: str
    complete: bool
    natural_width: int
    natural_height: int


IMAGES_SCRIPT = """
return Array.from(document.images).map(function (img) {
    return [img.currentSrc || img.src, img.complete, img.naturalWidth, img.naturalHeight];
});
"""


def images_of(driver: Any, timeout: float = 30.0) -> list[Img]:
    """Every image of the page, once each has finished loading (or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    while True:
        images = [Img(*row) for row in driver.execute_script(IMAGES_SCRIPT)]
        if all(img.complete for img in images) or time.monotonic() > deadline:
            return images
        time.sleep(0.1)


def artifacts() -> Path:
    """Where screenshots go: ``$RESTTHUMBS_ARTIFACTS`` (``.ci/run`` sets it), else /tmp."""
    path = Path(os.environ.get("RESTTHUMBS_ARTIFACTS") or tempfile.gettempdir()) / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(driver: Any, name: str) -> Path:
    """Save the whole page as ``<artifacts>/<name>.png``; return its path."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height), 600), 4000))
    path = artifacts() / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
