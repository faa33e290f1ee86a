"""The demo's website form: type a site's address, see its thumbnail.

The form of restthumbs' oldest ancestor, on the remote sources
(docs/remote.md): the address becomes the source path ``site/<scheme>/<host>/...``
(:func:`restthumbs.remote.remote_source`), signed like any other; the first
request renders the page in headless Chromium through the filtering proxy,
later ones read the stored thumbnail. Shown only when ``THUMBNAILS_SOURCES``
mounts ``site`` (``restthumbs serve --demo`` does when it finds Chromium).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict
from django.utils.translation import gettext as _

from ..api import thumbnail
from ..conf import app_settings
from ..exceptions import ThumbnailError
from ..remote import remote_source

SEGMENT = "site"
#: The thumbnail the form shows: a 16:10 card, like the viewport.
SIZE = "480x300"
MAX_LENGTH = 2048


@dataclass
class SiteForm:
    """The form's state: enabled or not, the address typed, and the thumbnail or an error."""

    enabled: bool
    address: str = ""
    url: str = ""
    source: str = ""
    error: str = ""


def site_form(query: QueryDict) -> SiteForm:
    """Read ``?site=`` and sign its thumbnail; never raises for bad input."""
    form = SiteForm(enabled=SEGMENT in app_settings.SOURCES)
    form.address = query.get("site", "").strip()
    if not form.enabled or not form.address:
        return form
    if len(form.address) > MAX_LENGTH:
        form.error = _("An address takes at most %d characters.") % MAX_LENGTH
        return form
    address = form.address if "://" in form.address else f"https://{form.address}"
    try:
        form.source = remote_source(address, SEGMENT)
        form.url = thumbnail(form.source, SIZE, "crop", "jpg").url
    except ThumbnailError as e:
        form.error = _("This is not an http(s) address restthumbs can name (%s).") % e.message
    return form
