"""End to end: the real web page in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright for Python): upload, instruct, run, wait, check the result and the report, download.

On a developer machine without chromium or playwright the tests skip with the reason; in CI
(``CI=true``) they fail instead, since ``.ci/run`` installs chromium and ``make test`` installs
playwright. A screenshot is saved to ``out/test-artifacts/web.png``; with
``RESTORA_UPDATE_SCREENSHOT=1`` a reduced copy also replaces the README's
``docs/images/web_app.png`` (tests never write into the repository otherwise).
"""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("RESTORA_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "out" / "test-artifacts"
README_SCREENSHOT = REPO / "docs" / "images" / "web_app.png"
README_SCREENSHOT_MAX_BYTES = 300_000
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
RUN_TIMEOUT_MS = 300_000
PAGE_TIMEOUT_MS = 120_000
"""Bounds on hangs only: a busy machine makes the page and the run slow, never wrong."""

# A browser, a server and a real restore run: seconds at best (make test-fast leaves them out).
pytestmark = pytest.mark.slow


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; in CI a missing browser is a failure, not a skip."""
    if IN_CI:
        pytest.fail(f"{reason}; CI=true, so the browser test must run (.ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(browser: Any) -> Iterator[str]:
    try:
        from restora.web.app import launch
    except ImportError:
        _unavailable("gradio is not installed (pip install -e '.[web]')")
    port = _free_port()
    app = launch(port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def noisy_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 128x128 astronaut with strong noise, made here from scikit-image."""
    from skimage import data, transform

    from restora.degradations import apply
    from restora.io import Image, save

    clean = transform.resize(data.astronaut(), (128, 128), anti_aliasing=True).astype(np.float32)
    noisy, _ = apply("noise", clean, 0.6, np.random.default_rng(7))
    return save(Image.from_array(noisy), tmp_path_factory.mktemp("web") / "noisy_astronaut.png")


@pytest.fixture()
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.goto(server)
    tab.wait_for_selector("#run", timeout=PAGE_TIMEOUT_MS)
    yield tab
    context.close()


def _save_screenshot(page: Any) -> None:
    from PIL import Image as PILImage

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = page.screenshot(full_page=True)
    (ARTIFACTS / "web.png").write_bytes(shot)
    if os.environ.get("RESTORA_UPDATE_SCREENSHOT") != "1":
        return
    # the README copy: half size and a 256-colour palette keep it a few hundred kilobytes
    picture = PILImage.open(io.BytesIO(shot)).convert("RGB")
    picture = picture.resize((picture.width * 3 // 4, picture.height * 3 // 4), PILImage.LANCZOS)
    buffer = io.BytesIO()
    picture.quantize(256, method=PILImage.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
    assert len(buffer.getvalue()) < README_SCREENSHOT_MAX_BYTES
    README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    README_SCREENSHOT.write_bytes(buffer.getvalue())


def test_upload_instruct_run_and_download(page: Any, noisy_png: Path) -> None:
    from PIL import Image as PILImage

    assert page.get_by_text("noisy astronaut").first.is_visible()  # a bundled example
    page.locator("#upload input[type=file]").set_input_files(str(noisy_png))
    page.wait_for_selector("#input-preview img", timeout=PAGE_TIMEOUT_MS)
    assert "128x128 pixels" in page.inner_text("#status")

    page.locator("#instruction textarea, #instruction input").first.fill("remove the noise")
    page.click("#run")
    page.wait_for_selector("#download-image", state="visible", timeout=RUN_TIMEOUT_MS)

    status = page.inner_text("#status")
    assert "Step 1: denoise with" in status and "Done" in status
    assert "Plan: denoise" in page.inner_text("#plan")
    trace = page.inner_text("#trace")
    assert "denoise" in trace and "kept" in trace
    assert "noise" in page.inner_text("#analysis")
    assert "no-reference score" in page.inner_text("#quality")
    assert page.locator("#bars-before").get_by_text("noise").first.is_visible()
    assert page.locator("#comparison img").count() == 2  # the before/after slider

    with page.expect_download() as download:
        page.click("#download-image")
    restored = PILImage.open(download.value.path())
    assert restored.format == "PNG" and restored.size == (128, 128)
    assert download.value.suggested_filename == "noisy_astronaut_restored.png"
    with page.expect_download() as download:
        page.click("#download-report")
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "remove the noise" in report and "denoise" in report

    _save_screenshot(page)


def test_upload_that_is_not_an_image_says_so_in_the_page(page: Any, tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture at all\n" * 50)
    page.locator("#upload input[type=file]").set_input_files(str(fake))
    # The upload route refuses it (HTTP 415) before storing it; the page shows why.
    page.get_by_text("notes.png: not a recognised image file").first.wait_for(
        timeout=PAGE_TIMEOUT_MS
    )
    assert page.get_by_text("Traceback").count() == 0
