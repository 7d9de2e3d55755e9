"""A small load test of the served web app: ``restora serve`` as a subprocess on a loopback
port, 20 runs on 64x64 pictures from 5 sessions at once (through gradio_client), then the
limits one by one, the sessions' end and the server's shutdown.

Checked: every run either finishes or is told that the server is busy; the server stays up; its
resident memory stays under :data:`RSS_LIMIT_MB`; unauthenticated requests, a long instruction,
an oversize upload and a picture over the pixel limit get their clear refusals; nothing is left
in its temporary folder once the sessions have ended, and nothing at all after SIGTERM.

The server's temporary folder is a folder of this test (``TMPDIR``), so that what it leaves can
be counted; the heartbeat is 0.5 s so that a closed session is noticed at once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("gradio", reason="the web extra (gradio) is not installed")
gradio_client = pytest.importorskip("gradio_client", reason="gradio_client is not installed")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc for RSS"),
]

SESSIONS = 5
RUNS_PER_SESSION = 4  # 20 runs in all, submitted together
MAX_QUEUE = 3
RSS_LIMIT_MB = 1500
"""Bound on the server's peak resident memory (VmHWM, its whole life): about 560 MB on a CPU
once the models are loaded, and 20 small runs add next to nothing; the margin is for other
machines' builds of torch."""
START_TIMEOUT_S = 300
RUN_TIMEOUT_S = 300
STOP_TIMEOUT_S = 120
SWEEP_TIMEOUT_S = 120
"""Bounds on hangs only (a busy machine makes every step slow, never wrong): the server starts
in about 10 s, a run waits for at most the queue ahead of it, and a closed session's files go
within a few heartbeats."""
USER, PASSWORD = "load", "test-only-password"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # the upload route takes images only


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    temp: Path
    log: Path
    peak_rss_mb: float = 0.0

    def rss_mb(self, key: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def files(self) -> list[Path]:
        # os.walk, not rglob: the server deletes folders while they are listed
        return sorted(Path(root, name) for root, _, names in os.walk(self.temp) for name in names)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until(check: Any, timeout: float, what: str, server: Server) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        assert server.process.poll() is None, f"the server died:\n{server.output()[-3000:]}"
        time.sleep(0.2)
    left = [str(p.relative_to(server.temp)) for p in server.files()]
    raise AssertionError(f"timed out waiting for {what}; files: {left[:20]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import httpx

    base = tmp_path_factory.mktemp("web-load")
    temp = base / "tmp"
    temp.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "GRADIO_HEARTBEAT_INTERVAL": "0.5",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
    }
    for name in ("GRADIO_TEMP_DIR", "RESTORA_MAX_PIXELS", "GRADIO_SERVER_NAME"):
        env.pop(name, None)
    command = [
        sys.executable, "-m", "restora", "serve", "--port", str(port), "--no-examples",
        "--device", "cpu", "--max-queue", str(MAX_QUEUE), "--max-upload-mb", "1",
        "--max-pixels", "1e6", "--auth", f"{USER}:{PASSWORD}",
        "--uploads-per-minute", "200",  # every client here has the same address
    ]  # fmt: skip
    log = base / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=base, stdout=sink, stderr=sink)
    running = Server(f"http://127.0.0.1:{port}/", process, temp, log)

    def answers() -> bool:
        try:
            return httpx.get(running.url + "config", timeout=2).status_code in (200, 401)
        except httpx.HTTPError:
            return False

    try:
        _wait_until(answers, START_TIMEOUT_S, "the server to start", running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _picture(folder: Path, seed: int, side: int = 64, noise: float = 30.0) -> Path:
    """A gradient with Gaussian noise, as PNG."""
    from PIL import Image as PILImage

    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 200, side)[None, :, None] * np.ones((side, 1, 3))
    noisy = np.clip(ramp + rng.normal(0, noise, ramp.shape), 0, 255).astype(np.uint8)
    path = folder / f"picture_{seed}.png"
    PILImage.fromarray(noisy).save(path)
    return path


def _outcome(job: Any) -> str:
    """'done', 'busy', or what else happened (a failure of the test)."""
    try:
        status = job.result(timeout=RUN_TIMEOUT_S)[0]
    except Exception as exc:
        message = str(exc)
        if "try again in a minute" in message or "Queue is full" in message:
            return "busy"
        return f"{type(exc).__name__}: {message}"
    return "done" if "**Done**" in status else f"unfinished: {status!r}"


def test_twenty_concurrent_runs_then_every_limit_then_a_clean_shutdown(
    server: Server, tmp_path: Path
) -> None:
    import httpx
    from gradio_client import Client, handle_file

    started = time.monotonic()

    # Without the password nothing is served.
    assert httpx.get(server.url + "config", timeout=5).status_code == 401

    # 20 runs from 5 sessions, all at once: each finishes or is told the server is busy.
    clients = [
        Client(server.url, auth=(USER, PASSWORD), verbose=False, download_files=False)
        for _ in range(SESSIONS)
    ]
    pictures = [_picture(tmp_path, seed) for seed in range(SESSIONS)]

    def submit(index: int) -> Any:
        client = clients[index % SESSIONS]
        picture = pictures[index % SESSIONS]
        return client.submit(handle_file(str(picture)), "remove the noise", api_name="/restore")

    with ThreadPoolExecutor(max_workers=SESSIONS * RUNS_PER_SESSION) as pool:
        jobs = list(pool.map(submit, range(SESSIONS * RUNS_PER_SESSION)))
        outcomes = list(pool.map(_outcome, jobs))
    unexpected = [o for o in outcomes if o not in ("done", "busy")]
    assert unexpected == [], unexpected
    assert outcomes.count("done") >= 1 and outcomes.count("busy") >= 1, outcomes
    assert server.process.poll() is None

    # The server is still up and answers a run of its own once the queue has drained.
    first = clients[0]
    status = first.predict(handle_file(str(pictures[0])), "", api_name="/restore")[0]
    assert "**Done**" in status

    # The limits, each a clear refusal.
    long_text = "remove the noise " * 120
    with pytest.raises(gradio_client.exceptions.ValidationError, match="at most 2000"):
        first.predict(handle_file(str(pictures[0])), long_text, api_name="/restore")
    large = _picture(tmp_path, 99, side=1200, noise=0)  # 1.44 MP (a few KB), over 1e6
    with pytest.raises(gradio_client.exceptions.AppError, match=r"over the limit of 1\.0"):
        first.predict(handle_file(str(large)), "remove the noise", api_name="/restore")
    upload = httpx.post(
        server.url + "gradio_api/upload",
        files={"files": ("big.png", PNG_SIGNATURE + bytes(2 * 1024 * 1024))},  # over 1 MB
        cookies=first.cookies,
        timeout=30,
    )
    assert upload.status_code == 413 and "maximum allowed size" in upload.text

    server.peak_rss_mb = server.rss_mb("VmHWM")  # the peak of its whole life
    assert server.peak_rss_mb < RSS_LIMIT_MB, f"peak RSS {server.peak_rss_mb:.0f} MB"

    # The sessions end (the clients close their heartbeats): their files go with them.
    for client in clients:
        client.close()
    workdirs = list((server.temp / "gradio").glob("restora-web-*"))
    assert len(workdirs) == 1

    _wait_until(lambda: server.files() == [], SWEEP_TIMEOUT_S, "the sessions' files to go", server)

    # SIGTERM stops it cleanly and leaves nothing behind.
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(STOP_TIMEOUT_S) == 0, server.output()[-3000:]
    assert server.files() == []
    assert not workdirs[0].exists()
    output = server.output()
    assert "uploads and results are deleted" in output and "Traceback" not in output
    elapsed = time.monotonic() - started
    print(
        f"\n{outcomes.count('done')} done, {outcomes.count('busy')} busy; peak RSS "
        f"{server.peak_rss_mb:.0f} MB (limit {RSS_LIMIT_MB}); {elapsed:.0f} s after start-up"
    )
