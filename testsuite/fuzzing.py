"""How much the fuzz tests try: hypothesis profiles, the image fuzzer's seeds, a time bound.

Two profiles, chosen by the environment variable ``RESTTHUMBS_FUZZ`` (or by pytest's
``--hypothesis-profile``), registered by ``testsuite/conftest.py`` before collection:

- ``ci`` (the default): derandomized, so every run tries the same cases, with a fixed
  budget; the fuzz tests add about a minute to the suite on two cores.
- ``long``: ``RESTTHUMBS_FUZZ=long``, :data:`LONG_SCALE` times as many cases (or
  ``RESTTHUMBS_FUZZ_SCALE`` times), and new ones on every run (hypothesis prints how to
  reproduce a failure; the image fuzzer names the seed of each case it fails on, and
  ``RESTTHUMBS_FUZZ_SEED`` makes it start there). ``docs/security.md`` has the command.

A property test takes its share of the profile with :func:`examples`; the image fuzzer
takes its number of seeds from :func:`scaled`, so both grow with the profile. No
example database and no ``.hypothesis`` directory is written to the checkout.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, settings

#: ``max_examples`` of the ``ci`` profile; a test asks for a multiple of it.
CI_EXAMPLES = 100
#: How many times more the ``long`` profile tries.
LONG_SCALE = 200

#: Longest a single request or render may take before the fuzzers call it a hang.
HANG_SECONDS = 20.0

_T = TypeVar("_T")


def register_profiles() -> None:
    """Register ``ci`` and ``long`` and load the one ``RESTTHUMBS_FUZZ`` names."""
    from hypothesis import configuration

    # Hypothesis keeps a cache (its Unicode tables) below its home directory: not the checkout.
    configuration.set_hypothesis_home_dir(
        os.path.join(tempfile.gettempdir(), "restthumbs-hypothesis")
    )
    common = {
        "database": None,
        "deadline": None,  # two shared cores: timing is not a property here
        "print_blob": True,
        # The fuzz tests share one source and thumbnail directory across examples on
        # purpose (they check what each example adds to it).
        "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    }
    settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, **common)
    long_scale = int(os.environ.get("RESTTHUMBS_FUZZ_SCALE", LONG_SCALE))
    settings.register_profile(
        "long", max_examples=CI_EXAMPLES * long_scale, derandomize=False, **common
    )
    settings.load_profile(os.environ.get("RESTTHUMBS_FUZZ", "ci"))


def scale() -> float:
    """How many times the ``ci`` budget the loaded profile runs."""
    return settings.default.max_examples / CI_EXAMPLES


def examples(share: float) -> settings:
    """Settings for a test that runs ``share`` times the profile's ``max_examples``."""
    return settings(max_examples=max(1, round(settings.default.max_examples * share)))


def scaled(ci_count: int) -> int:
    """The image fuzzer's number of seeds: ``ci_count`` in CI, more in a long run."""
    return max(1, round(ci_count * scale()))


def first_seed() -> int:
    """Where the image fuzzer's seeds start: 0 in CI (the same cases every run), a
    random place in a long run unless ``RESTTHUMBS_FUZZ_SEED`` says where."""
    given = os.environ.get("RESTTHUMBS_FUZZ_SEED")
    if given is not None:
        return int(given)
    if settings.default.derandomize:
        return 0
    return random.SystemRandom().randrange(1 << 32)


class Hang(AssertionError):
    """A request or render that did not finish within :data:`HANG_SECONDS`."""


def bounded(call: Callable[[], _T], what: str, seconds: float = HANG_SECONDS) -> _T:
    """``call()`` in a thread; :class:`Hang` if it is still running after ``seconds``.

    A hung call cannot be stopped from Python: its daemon thread is left behind
    (and the test fails), rather than blocking the whole suite.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as e:
            outcome["error"] = e

    thread = threading.Thread(target=run, name="restthumbs-fuzz", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise Hang(f"{what}: still running after {seconds:.0f} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
