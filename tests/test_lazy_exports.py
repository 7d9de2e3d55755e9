"""The packages' lazy public names (lazy_loader): every name resolves, unknown names raise
AttributeError, and importing the packages loads no heavy dependency."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = (
    "restora",
    "restora.quality",
    "restora.web",
    "restora.perception",
    "restora.reports",
    "restora.degradations",
    "restora.language",
    "restora.batch",
)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__all__ == sorted(package.__all__)
    for attribute in package.__all__:
        assert getattr(package, attribute) is not None, f"{name}.{attribute}"
    assert set(dir(package)) >= set(package.__all__)


@pytest.mark.parametrize("name", [*PACKAGES, "restora.agent"])
def test_unknown_name_is_an_attribute_error(name: str) -> None:
    package = importlib.import_module(name)
    with pytest.raises(AttributeError):
        _ = package.no_such_name
    assert not hasattr(package, "no_such_name")


def test_public_api_of_the_root_package() -> None:
    import restora
    from restora.agent.api import restore
    from restora.io import load

    assert restora.load is load and restora.restore is restore
    assert restora.__version__ and "__version__" in dir(restora)


def test_importing_the_packages_is_cheap() -> None:
    code = (
        "import sys, restora, " + ", ".join(PACKAGES[1:]) + ", restora.agent; "
        "heavy = [m for m in ('torch', 'cv2', 'transformers', 'gradio', 'skimage') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
