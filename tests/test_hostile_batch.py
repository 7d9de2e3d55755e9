"""What a hostile user found in ``restora batch`` and the chat backends (issue 24): too many
workers, a dead chat endpoint asked once per file, a manifest written into the input folder."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from restora.batch import BatchConfig, run_batch
from restora.bench.batch import make_folder
from restora.language.backends import (
    BackendError,
    ChatClient,
    EndpointDownError,
    LLMConfig,
    forget_unreachable_endpoints,
)

from .helpers import run_cli
from .test_language_backends import FakeChatServer, server  # noqa: F401 - the fixture


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers; counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.connections = 0
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            self.held.append(conn)  # open, silent

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture()
def silent(monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentServer]:
    fake = SilentServer()
    forget_unreachable_endpoints()
    monkeypatch.setenv("RESTORA_LLM_URL", fake.url)
    monkeypatch.setenv("RESTORA_LLM_TIMEOUT", "0.5")
    monkeypatch.setenv("RESTORA_LLM_RETRIES", "0")
    monkeypatch.delenv("RESTORA_VLM_URL", raising=False)
    monkeypatch.delenv("RESTORA_LLM_CONFIG", raising=False)
    yield fake
    fake.close()
    forget_unreachable_endpoints()


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# ------------------------------------------------------------ item 7: a dead chat endpoint


def test_a_dead_endpoint_is_not_called_again(silent: SilentServer) -> None:
    config = LLMConfig(base_url=silent.url, timeout=0.5, retries=0)
    with pytest.raises(BackendError, match="failed"):
        ChatClient(config).complete([{"role": "user", "content": "hi"}])
    with pytest.raises(EndpointDownError, match="not asked again"):
        ChatClient(config).complete([{"role": "user", "content": "hi"}])
    assert silent.connections == 1
    forget_unreachable_endpoints()  # a fixed server is called again
    with pytest.raises(BackendError):
        ChatClient(config).complete([{"role": "user", "content": "hi"}])
    assert silent.connections == 2


def test_an_endpoint_that_answers_an_error_is_called_again(server: FakeChatServer) -> None:  # noqa: F811
    """An HTTP error is an answer: only timeouts and refused connections count as dead."""
    server.answers = [(500, "boom"), (200, json.dumps({"a": 1}))]
    config = LLMConfig(base_url=server.url, timeout=5.0, retries=0)
    with pytest.raises(BackendError, match="500"):
        ChatClient(config).complete([{"role": "user", "content": "hi"}])
    assert json.loads(ChatClient(config).complete([{"role": "user", "content": "hi"}])) == {"a": 1}


def test_batch_parses_the_instruction_once(
    silent: SilentServer, tmp_path: Path, astronaut: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    src = tmp_path / "in"
    make_folder(src, astronaut, 3, side=32)
    config = BatchConfig(instruction="remove the noise", threads=1)
    report = run_batch(src, tmp_path / "out", config, progress=False)
    assert (report.done, report.failed) == (3, 0)
    assert silent.connections == 1  # was 4: once to check the request, then once per file
    fallbacks = [r for r in caplog.records if "embedded parser" in r.getMessage()]
    assert len(fallbacks) == 1


def test_analyze_folder_with_a_dead_vlm_asks_once(
    silent: SilentServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    small_rgb: np.ndarray,
) -> None:
    from restora.io import Image, save

    for index in range(3):
        save(Image(np.roll(small_rgb, index * 5, axis=1)), tmp_path / f"p{index}.png")
    code, out, err = run_cli(capsys, "analyze", tmp_path, "--analyzer", "vlm")
    assert code == 0, err
    assert out.count("p0.png") + out.count("p1.png") + out.count("p2.png") >= 3
    assert silent.connections == 1  # was 3: once per photo
    warned = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "VLM degradation" in r.getMessage()
    ]
    assert len(warned) == 1


# --------------------------------------------------------------- item 5: --workers 64


@pytest.fixture()
def recorded_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The local engine replaced by one that only records how many workers it was given."""
    seen: list[int] = []

    def fake_engine(*args: Any, workers: int, **kwargs: Any) -> None:
        seen.append(workers)

    monkeypatch.setattr("restora.batch.local.run_local", fake_engine)
    return seen


@pytest.mark.parametrize(("memory", "expected"), [(64 * 2**30, 2), (700 * 2**20, 1), (None, 2)])
def test_workers_are_capped_by_cores_and_memory(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    astronaut: np.ndarray,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    recorded_workers: list[int],
    memory: int | None,
    expected: int,
) -> None:
    import os

    import restora.io

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(restora.io, "available_memory", lambda: memory)
    src = tmp_path / "in"
    make_folder(src, astronaut, 2, side=32)
    args = ("batch", src, tmp_path / "out", "--task", "denoise", "--json")
    code, out, err = run_cli(capsys, *args, "--workers", "64")
    assert code == 0, err
    assert recorded_workers == [expected] and json.loads(out)["workers"] == expected
    said = [r.getMessage() for r in caplog.records if "--workers" in r.getMessage()]
    assert len(said) == 1 and f"--workers 64 lowered to {expected} (2 cores" in said[0]
    assert "\n" not in said[0]
    caplog.clear()
    code, out, err = run_cli(capsys, *args, "--workers", "1", "--resume")
    assert code == 0 and recorded_workers[-1] == 1
    assert not [r for r in caplog.records if "lowered" in r.getMessage()]


# -------------------------------------------------- item 14: a manifest inside the input


@pytest.mark.parametrize(
    "where",
    ["in/sub/new.png", "in/sub/run.jsonl", "in/sub/set1/run", "elsewhere/run.PNG", "out/m.tif"],
)
def test_a_manifest_inside_the_input_or_named_like_an_image_is_refused(
    tmp_path: Path, astronaut: np.ndarray, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    src = tmp_path / "in"
    make_folder(src / "sub", astronaut, 2, side=32)  # sub/img000.png, sub/set1/img001.png
    (tmp_path / "elsewhere").mkdir()
    before = _tree(tmp_path)
    code, out, err = run_cli(
        capsys,
        "batch",
        src / "sub",
        tmp_path / "out",
        "--task",
        "denoise",
        "--manifest",
        tmp_path / where,
    )
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--manifest" in err, err
    assert "Traceback" not in err
    assert _tree(tmp_path) == before  # nothing written
