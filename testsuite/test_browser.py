"""Real headless Chromium: the demo page, the responsive tags and the admin preview.

Each page is opened in Debian's Chromium through Selenium; every ``<img>`` must
have finished loading with a decoded width (``naturalWidth > 0``), and a
screenshot of the page is saved (``$RESTTHUMBS_ARTIFACTS/screenshots``; .ci/run
keeps them in ``.ci-artifacts/``). Missing Chromium skips locally and fails
under ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from restthumbs.engine import can_encode

from . import harness, images
from .gallery.models import Photo
from .test_cli import KEY, start_server

pytestmark = pytest.mark.integration


def _wait_until(condition: Any, timeout: float = 30.0) -> None:
    """Poll ``condition`` (a page load after a click is not awaited by Selenium)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the browser"
        time.sleep(0.05)


def assert_all_loaded(found: list[harness.Img], at_least: int) -> None:
    assert len(found) >= at_least, found
    broken = [img for img in found if not img.complete or img.natural_width == 0]
    assert broken == [], broken


def test_the_demo_page_loads_every_thumbnail(tmp_path: Path) -> None:
    server = start_server(["--demo", "--secret-key", KEY], tmp_path)
    try:
        with harness.chromium() as browser:
            browser.get(server.origin + "/")
            found = harness.images_of(browser)
            harness.screenshot(browser, "demo-page")
    finally:
        server.stop()
    assert_all_loaded(found, at_least=15)  # 5 samples x 3 methods x 3 sizes, and the form's
    assert all(img.src.startswith(server.origin + "/") for img in found)


@pytest.mark.django_db(transaction=True)
def test_the_admin_preview_shows_signed_thumbnails(
    live_server: Any, admin_user: Any, media: Path
) -> None:
    photo = Photo(title="Kitten")
    photo.image.save("kitten.jpg", ContentFile(images.jpeg_bytes((800, 600))), save=True)
    with harness.chromium() as browser:
        browser.get(live_server.url + "/admin/login/")
        browser.find_element("name", "username").send_keys("admin")
        browser.find_element("name", "password").send_keys("password")
        browser.find_element("css selector", "input[type=submit]").click()
        _wait_until(lambda: "/login/" not in browser.current_url)  # logged in, redirected

        browser.get(f"{live_server.url}/admin/gallery/photo/")
        listed = harness.images_of(browser)
        harness.screenshot(browser, "admin-changelist")
        browser.get(f"{live_server.url}/admin/gallery/photo/{photo.pk}/change/")
        form = harness.images_of(browser)
        harness.screenshot(browser, "admin-change-form")
    thumbnails = [img for img in listed if "/kitten.jpg/64x64/crop/" in img.src]
    assert_all_loaded(thumbnails, at_least=1)
    assert (thumbnails[0].natural_width, thumbnails[0].natural_height) == (64, 64)
    preview = [img for img in form if "/kitten.jpg/300x200/scale/" in img.src]
    assert_all_loaded(preview, at_least=1)
    assert (preview[0].natural_width, preview[0].natural_height) == (267, 200)


#: Each image of the demo's responsive section as the browser chose it.
CHOSEN_SCRIPT = """
return Array.from(document.querySelectorAll('#responsive img')).map(function (img) {
    return [img.currentSrc, img.complete, img.naturalWidth, img.parentElement.tagName];
});
"""


def test_the_browser_picks_avif_or_webp_from_the_picture_tag(tmp_path: Path) -> None:
    """The demo's {% picture %} and {% srcset_image %}, at 1 and 2 device pixels per CSS px."""
    server = start_server(["--demo", "--secret-key", KEY], tmp_path)
    try:
        with harness.chromium() as browser:
            browser.get(server.origin + "/")
            found = harness.images_of(browser)
            at_1x = browser.execute_script(CHOSEN_SCRIPT)
            harness.screenshot(browser, "responsive-picture")
            metrics = {"width": 1280, "height": 1000, "deviceScaleFactor": 2, "mobile": False}
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            browser.get(server.origin + "/")
            harness.images_of(browser)
            at_2x = browser.execute_script(CHOSEN_SCRIPT)
    finally:
        server.stop()
    assert_all_loaded(found, at_least=18)
    best = ".avif" if can_encode("AVIF") else ".webp"
    for chosen, scale in ((at_1x, 1), (at_2x, 2)):
        (picture, widths, densities) = chosen
        assert all(complete and width > 0 for _, complete, width, _ in chosen), chosen
        assert picture[3] == "PICTURE" and picture[0].endswith(best), picture
        # sizes="... 240px": the 240w candidate at 1x, the 480w one at 2x.
        assert f"/{240 * scale}x{150 * scale}/smart/" in picture[0], picture
        assert f"/{160 * scale}x/scale/" in widths[0] and widths[0].endswith(".webp"), widths
        assert f"/{120 * scale}x{80 * scale}/crop/" in densities[0], densities
