"""The embedded configuration behind ``restthumbs serve``: no Django project needed.

:mod:`.configure` sets Django up from :mod:`.settings` (the settings dictionary
for ``settings.configure()``) when a command runs; :mod:`.server` runs
``restthumbs serve``; :mod:`.urls` and :mod:`.demo_urls` are the two root
URLconfs (thumbnails only, or thumbnails plus the demo page); :mod:`.samples`
lists the demo's images, :mod:`.drawing` draws them, and :mod:`.demo` is the
demo page's view. Nothing here touches settings at import.
"""
