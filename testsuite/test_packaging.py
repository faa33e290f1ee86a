"""What ships: the package data a wheel must carry, and which restthumbs the suite imports.

``.ci/run`` installs the built wheel and runs the suite from a copy outside the
checkout with ``RESTTHUMBS_EXPECT_INSTALLED=1``: then the restthumbs under test
must be the installed one, not a source tree that happens to be on ``sys.path``.
"""

from __future__ import annotations

import os
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest

import restthumbs

PACKAGE = Path(restthumbs.__file__).resolve().parent

#: Files that are not Python modules and that restthumbs needs at run time.
PACKAGE_DATA = ("py.typed", "templates/restthumbs/demo.html")


@pytest.mark.parametrize("name", PACKAGE_DATA)
def test_package_data_is_where_restthumbs_is_imported_from(name: str) -> None:
    assert (PACKAGE / name).is_file()


def test_the_distribution_version_is_the_package_version() -> None:
    assert metadata.version("restthumbs") == restthumbs.__version__


@pytest.mark.skipif(
    os.environ.get("RESTTHUMBS_EXPECT_INSTALLED") != "1",
    reason="only where .ci/run installed the wheel (RESTTHUMBS_EXPECT_INSTALLED=1)",
)
def test_the_suite_imports_the_installed_wheel() -> None:
    installed = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert PACKAGE.parent == installed, f"restthumbs imported from {PACKAGE}, not {installed}"
    files = metadata.files("restthumbs") or []
    assert not any(str(f).endswith(".pth") for f in files), "an editable install, not the wheel"
