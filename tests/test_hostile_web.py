"""The served page's upload route under a hostile client (issue 24: item 6, and the empty upload
folders of item 17): quotas, a rate per client, images only, uploads no page uses deleted within
minutes, nothing left after the server stops.

Each test serves the page in this process (``launch(block=False)``, models not loaded) on a free
loopback port, with its own Gradio upload folder and tiny limits, and talks to
``/gradio_api/upload`` with httpx. The sweep is called with a clock moved forward instead of
waiting for it.
"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

pytest.importorskip("gradio", reason="the web extra (gradio) is not installed")
httpx = pytest.importorskip("httpx")

from restora.web.uploads import (  # noqa: E402
    MEGABYTE,
    UploadGuard,
    UploadLedger,
    UploadLimits,
    first_file,
    image_format,
)

LATER = 10_000.0
"""Seconds added to the clock to make every upload old enough for the sweep."""


def _png(seed: int, side: int = 48) -> bytes:
    """A noisy picture as PNG (about 7 KB at 48x48: noise does not compress)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    def __init__(self, url: str, app: Any, uploads: Path) -> None:
        self.url = url
        self.app = app
        self.uploads = uploads
        self.ledger: UploadLedger = next(
            m.kwargs["ledger"] for m in app.server_app.user_middleware if m.cls is UploadGuard
        )

    def upload(self, *files: tuple[str, bytes]) -> httpx.Response:
        return httpx.post(
            self.url + "gradio_api/upload",
            files=[("files", (name, data)) for name, data in files],
            timeout=30,
        )

    def stored(self) -> list[Path]:
        """Files in the upload folder, outside the page's work folder."""
        return sorted(
            p
            for p in self.uploads.rglob("*")
            if p.is_file() and not p.relative_to(self.uploads).parts[0].startswith("restora-web")
        )


@contextlib.contextmanager
def serving(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **limits: Any) -> Iterator[Served]:
    from restora.web.app import launch

    uploads = tmp_path / "gradio"  # made by the server
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    monkeypatch.setattr("restora.web.app.warm_up", lambda device=None: None)
    port = _free_port()
    app = launch(port=port, block=False, examples=False, **limits)
    try:
        yield Served(f"http://127.0.0.1:{port}/", app, uploads)
    finally:
        app.close()


def test_an_upload_over_the_storage_quota_is_refused_until_uploads_go(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pictures = [_png(seed) for seed in range(4)]
    size = len(pictures[0])
    with serving(monkeypatch, tmp_path, max_storage_mb=2.5 * size / MEGABYTE) as served:
        assert served.upload(("a.png", pictures[0])).status_code == 200
        assert served.upload(("b.png", pictures[1])).status_code == 200
        refused = served.upload(("c.png", pictures[2]))
        assert refused.status_code == 413, refused.text
        assert "holds as many uploads as it may" in refused.text
        assert len(served.stored()) == 2

        # One declared larger than the whole quota is refused before it is read.
        port = int(served.url.rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            raw.sendall(
                b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\n"
                b"Content-Length: 1000000000\r\n\r\n--b\r\n"
            )
            received = b""
            while b"room" not in received:  # the headers and the body may come apart
                chunk = raw.recv(65536)
                if not chunk:
                    break
                received += chunk
            answer = received.decode("latin-1")
        assert answer.startswith("HTTP/1.1 413") and "larger than the server's room" in answer

        # The uploads no page used go with the sweep, and the room comes back.
        assert len(served.ledger.sweep(time.time() + LATER)) == 2
        assert served.stored() == []
        assert served.upload(("d.png", pictures[3])).status_code == 200


def test_an_upload_that_hides_its_length_is_cut_off_at_the_quota(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    boundary = b"cutoff"

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to check up front
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; '
        yield b'filename="big.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n'
        for _ in range(64):
            yield bytes(16 * 1024)
        yield b"\r\n--" + boundary + b"--\r\n"

    with serving(monkeypatch, tmp_path, max_storage_mb=0.25) as served:
        refused = httpx.post(
            served.url + "gradio_api/upload",
            content=body(),
            headers={"content-type": "multipart/form-data; boundary=cutoff"},
            timeout=30,
        )
        assert refused.status_code == 413, refused.text
        # Its partial file counts until the sweep deletes it.
        assert served.ledger.usage()[0] > 0
        served.ledger.sweep(time.time() + LATER)
        assert served.ledger.usage()[0] == 0
        assert served.stored() == []


def test_a_file_that_is_not_an_image_is_refused_and_not_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    picture = _png(0)
    with serving(monkeypatch, tmp_path) as served:
        for name, data in [
            ("notes.png", b"not a picture at all\n" * 50),
            ("zeros.png", bytes(4096)),
            ("photo.txt", picture),  # an image, but not by its name
            ("page.html", b"<html><script>alert(1)</script></html>"),
        ]:
            refused = served.upload((name, data))
            assert refused.status_code == 415, (name, refused.text)
            assert f"{name}: not a recognised image file" in refused.text
        # A second file behind an image is checked once stored, and deleted.
        mixed = served.upload(("ok.png", picture), ("evil.svg", b"<svg onload=alert(1)/>"))
        assert mixed.status_code == 415 and "evil.svg" in mixed.text
        assert [p.name for p in served.stored()] == ["ok.png"]
        assert served.upload(("photo.png", picture)).status_code == 200


def test_each_client_has_a_rate_and_a_share_of_the_room(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pictures = [_png(seed) for seed in range(4)]
    with serving(monkeypatch, tmp_path, uploads_per_minute=3) as served:
        for index in range(3):
            assert served.upload((f"{index}.png", pictures[index])).status_code == 200
        refused = served.upload(("3.png", pictures[3]))
        assert refused.status_code == 429 and "at most 3 a minute" in refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert len(served.stored()) == 3

    size = len(pictures[0])
    limits = {"max_storage_mb": 10 * size / MEGABYTE, "max_client_mb": 1.5 * size / MEGABYTE}
    with serving(monkeypatch, tmp_path / "second", **limits) as served:
        assert served.upload(("0.png", pictures[0])).status_code == 200
        refused = served.upload(("1.png", pictures[1]))
        assert refused.status_code == 429 and "one address may hold" in refused.text


def test_the_ledger_keeps_clients_apart_and_spares_what_a_page_uses(tmp_path: Path) -> None:
    held = []
    for name in ("a", "b", "c"):
        path = tmp_path / name / f"{name}.png"
        path.parent.mkdir()
        path.write_bytes(bytes(1000))
        held.append(path)
    limits = UploadLimits(max_storage_bytes=2500, max_client_bytes=1500, uploads_per_minute=10)
    ledger = UploadLedger(limits, tmp_path, in_use=lambda path: path.name == "b.png")
    first = ledger.admit("alice", 1000)
    assert isinstance(first, int)
    ledger.stored(first, [held[0]])
    assert ledger.admit("alice", 1000).status == 429  # type: ignore[union-attr]
    second = ledger.admit("bob", 1000)
    assert isinstance(second, int)
    ledger.stored(second, [held[1]])
    assert ledger.admit("carol", 1000).status == 413  # type: ignore[union-attr]
    assert ledger.usage("bob") == (2000, 1000)

    assert ledger.sweep(time.time() + LATER) == [held[0]]  # b.png is used by an open page
    assert not held[0].exists() and not held[0].parent.exists() and held[1].exists()
    assert ledger.usage("alice") == (1000, 0)


def test_image_signatures_and_the_first_file_of_a_body() -> None:
    assert image_format("a.PNG", b"\x89PNG\r\n\x1a\n\0\0\0\r") == "PNG"
    assert image_format("a.jpg", b"\xff\xd8\xff\xe0") == "JPEG"
    assert image_format("a.tif", b"II*\x00") == "TIFF"
    assert image_format("a.webp", b"RIFF\0\0\0\0WEBP") == "WebP"
    assert image_format("a.bmp", b"BM\0\0") == "BMP"
    assert image_format("a.png", b"GIF89a") is None
    assert image_format("a", b"\x89PNG\r\n\x1a\n") is None
    head = b'--x\r\nContent-Disposition: form-data; name="files"; filename="p q.png"\r\n\r\n'
    assert first_file(head + b"\x89PN", b"x") is None  # too short to tell
    assert first_file(head + b"\x89PNG\r\n\x1a\n1234", b"x") == (
        "p q.png",
        b"\x89PNG\r\n\x1a\n1234",
    )
    assert first_file(head + b"ab\r\n--x--\r\n", b"x") == ("p q.png", b"ab")
    field = b'--x\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n'
    assert first_file(field + head + b"GIF89a123456", b"x") == ("p q.png", b"GIF89a123456")


def test_after_the_server_stops_no_upload_folder_is_left(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with serving(monkeypatch, tmp_path) as served:
        for seed in range(3):
            assert served.upload((f"{seed}.png", _png(seed))).status_code == 200
        assert len(served.stored()) == 3
        uploads = served.uploads
    # Gradio deletes the files it stored at shutdown; their folders (and the upload folder this
    # server made) went too.
    assert not uploads.exists(), sorted(uploads.rglob("*"))
