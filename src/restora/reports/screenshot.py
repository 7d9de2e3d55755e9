"""A picture of an HTML report, for the README and docs (Playwright driving a local Chromium).

    python -m restora.demo --out out/example
    python -m restora.reports.screenshot out/example/report.html docs/images/report_example.jpg

The report is opened from disk (it is self-contained, nothing is fetched), rendered at a fixed
width and saved as PNG or JPEG; ``--max-height`` cuts a long page. Needs the ``playwright``
package (dev extra) and a Chromium (``/usr/bin/chromium`` from Debian, or ``--chromium PATH``).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from restora.errors import NotAvailableError

DEFAULT_CHROMIUM = "/usr/bin/chromium"


def screenshot(
    report: Path,
    out: Path,
    width: int = 1200,
    max_height: int | None = 2400,
    chromium: str = DEFAULT_CHROMIUM,
) -> Path:
    """Render ``report`` and write the picture to ``out`` (format from its extension)."""
    from PIL import Image as PILImage

    from restora.io import write_bytes_atomic

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise NotAvailableError("screenshots need playwright: pip install playwright") from None
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(report.resolve().as_uri())
            png = page.screenshot(full_page=True)
        finally:
            browser.close()
    picture = PILImage.open(io.BytesIO(png)).convert("RGB")
    if max_height is not None and picture.height > max_height:
        picture = picture.crop((0, 0, picture.width, max_height))
    buffer = io.BytesIO()
    if out.suffix.lower() in (".jpg", ".jpeg"):
        picture.save(buffer, format="JPEG", quality=85, optimize=True)
    else:
        picture.save(buffer, format="PNG", optimize=True)
    return write_bytes_atomic(out, buffer.getvalue(), overwrite=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--max-height", type=int, default=2400)
    parser.add_argument("--chromium", default=DEFAULT_CHROMIUM)
    args = parser.parse_args(argv)
    path = screenshot(args.report, args.out, args.width, args.max_height, args.chromium)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
