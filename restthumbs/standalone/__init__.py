"""The embedded configuration behind ``restthumbs serve``: no Django project needed.

:mod:`.settings` builds the settings dictionary for ``settings.configure()``,
:mod:`.urls` and :mod:`.demo_urls` are the two root URLconfs (thumbnails only,
or thumbnails plus the demo page), :mod:`.samples` draws the demo's images and
:mod:`.demo` is the demo page's view. Nothing here touches settings at import.
"""
