"""The external chat backend against a local fake OpenAI-compatible server.

The server listens on 127.0.0.1 only; nothing here touches the network. (The image classifiers
that use it are tested in test_perception_backends.py.)"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from restora.errors import NotAvailableError
from restora.language.backends import (
    BackendError,
    ChatClient,
    LLMConfig,
    extract_json_object,
    parse_with_fallback,
    parse_with_llm,
    validate_intent_payload,
)


class FakeChatServer:
    """A /v1/chat/completions server whose answers the test scripts."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, Any]] = []  # (status, content) consumed in order
        self.delay = 0.0
        self.reject_json_mode = False
        self.answered = 0  # answers sent in full
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests.append(
                    {"path": self.path, "body": body, "headers": dict(self.headers)}
                )
                time.sleep(server.delay)
                if server.reject_json_mode and "response_format" in body:
                    status, payload = 400, {"error": "response_format not supported"}
                else:
                    status, content = server.answers.pop(0) if server.answers else (200, "{}")
                    payload = (
                        {"choices": [{"message": {"role": "assistant", "content": content}}]}
                        if status == 200
                        else {"error": "boom"}
                    )
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    server.answered += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out first

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[FakeChatServer]:
    fake = FakeChatServer()
    yield fake
    fake.close()


def config(server: FakeChatServer, **kwargs: Any) -> LLMConfig:
    return LLMConfig(base_url=server.url, model="tiny", **{"timeout": 5.0, "retries": 1, **kwargs})


INTENT = {"tasks": ["brighten"], "exclude": ["denoise"], "auto": False, "scale": None,
          "strength": "light"}  # fmt: skip


def test_parse_with_llm(server: FakeChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESTORA_LLM_API_KEY", "secret-token")
    server.answers = [(200, json.dumps(INTENT))]
    intent = parse_with_llm("brighten a bit, keep the grain", config(server))
    assert intent.tasks == ("brighten",) and intent.exclude == ("denoise",)
    assert intent.strength == "light" and intent.text == "brighten a bit, keep the grain"
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "tiny"
    assert request["body"]["response_format"] == {"type": "json_object"}
    assert request["body"]["messages"][-1]["content"] == "brighten a bit, keep the grain"
    assert "denoise" in request["body"]["messages"][0]["content"]
    assert request["headers"]["Authorization"] == "Bearer secret-token"
    assert "secret-token" not in repr(config(server))


def test_fenced_json_and_upscale_default(server: FakeChatServer) -> None:
    payload = {**INTENT, "tasks": ["upscale"], "exclude": []}
    server.answers = [(200, "Sure!\n```json\n" + json.dumps(payload) + "\n```")]
    assert parse_with_llm("make it bigger", config(server)).scale == 2


def test_retries_after_server_error(server: FakeChatServer) -> None:
    server.answers = [(500, None), (200, json.dumps(INTENT))]
    assert parse_with_llm("x", config(server, retries=1)).tasks == ("brighten",)
    assert len(server.requests) == 2


def test_json_mode_rejected_then_asked_in_words(server: FakeChatServer) -> None:
    server.reject_json_mode = True
    server.answers = [(200, json.dumps(INTENT))]
    assert parse_with_llm("x", config(server, retries=0)).tasks == ("brighten",)
    assert "response_format" not in server.requests[-1]["body"]


@pytest.mark.parametrize(
    "answer",
    [
        {**INTENT, "tasks": ["paint_a_cat"]},
        {**INTENT, "scale": 7},
        {**INTENT, "strength": "medium"},
        {"tasks": ["denoise"]},
        "not json at all",
    ],
)
def test_invalid_answers_fall_back_with_warning(
    server: FakeChatServer, answer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    content = answer if isinstance(answer, str) else json.dumps(answer)
    server.answers = [(200, content)] * 2
    with caplog.at_level(logging.WARNING, logger="restora.language.backends"):
        intent = parse_with_fallback("remove the noise", config(server, retries=0))
    assert intent.tasks == ("denoise",)  # the embedded parser's answer
    assert "embedded parser" in caplog.text


def test_timeout_falls_back(server: FakeChatServer) -> None:
    server.delay = 60.0  # the answer would come a minute later
    intent = parse_with_fallback("sharpen it", config(server, timeout=0.2, retries=0))
    assert intent.tasks == ("deblur",)  # the embedded parser answered...
    assert len(server.requests) == 1 and server.answered == 0  # ...before the server did


def test_unreachable_server() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = LLMConfig(base_url=f"http://127.0.0.1:{port}/v1", timeout=0.5, retries=0)
    with pytest.raises(BackendError, match="failed"):
        ChatClient(cfg).complete([{"role": "user", "content": "hi"}])


def test_public_parse_uses_env(server: FakeChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from restora.language import parse

    monkeypatch.setenv("RESTORA_LLM_URL", server.url)
    monkeypatch.setenv("RESTORA_LLM_MODEL", "from-env")
    server.answers = [(200, json.dumps(INTENT))]
    assert parse("whatever the user said").exclude == ("denoise",)
    assert server.requests[0]["body"]["model"] == "from-env"


def test_config_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RESTORA_LLM_URL", "RESTORA_LLM_CONFIG", "RESTORA_VLM_URL", "RESTORA_VLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert LLMConfig.from_env() is None  # off by default
    path = tmp_path / "llm.json"
    path.write_text(json.dumps({"base_url": "http://127.0.0.1:1/v1", "model": "m", "timeout": 3}))
    monkeypatch.setenv("RESTORA_LLM_CONFIG", str(path))
    monkeypatch.setenv("RESTORA_LLM_RETRIES", "5")
    cfg = LLMConfig.from_env()
    assert cfg is not None and (cfg.model, cfg.timeout, cfg.retries) == ("m", 3, 5)
    assert cfg.endpoint == "http://127.0.0.1:1/v1/chat/completions"
    monkeypatch.setenv("RESTORA_VLM_MODEL", "llava")
    vlm = LLMConfig.from_env("RESTORA_VLM")
    assert vlm is not None and vlm.model == "llava" and vlm.base_url == cfg.base_url
    path.write_text(json.dumps({"base_url": "x", "modle": "typo"}))
    with pytest.raises(NotAvailableError, match="modle"):
        LLMConfig.from_file(path)


def test_validators() -> None:
    assert extract_json_object('text {"a": 1} more') == {"a": 1}
    with pytest.raises(BackendError):
        extract_json_object("[1, 2]")
    intent = validate_intent_payload({**INTENT, "tasks": ["denoise", "denoise"], "scale": 4.0})
    assert intent.tasks == ("denoise",) and intent.scale is None  # no upscale: no scale


class RawServer:
    """A loopback TCP server whose every connection is handled by ``handle(conn)``: for the
    misbehaving endpoints a real HTTP server will not imitate."""

    def __init__(self, handle: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.stop = threading.Event()
        self.handle = handle
        self.connections = 0
        self.completed = 0  # exchanges the server finished before it was closed
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                self.handle(conn, self.stop)
                if not self.stop.is_set():
                    self.completed += 1
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9999\r\n\r\n"
    )
    for _ in range(100):  # one byte every 0.3 s: each read succeeds, the answer never completes
        if stop.is_set():
            return
        conn.sendall(b" ")
        time.sleep(0.3)


def _drop(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    )
    conn.sendall(b'{"choices": [')  # then the connection closes: IncompleteRead


def _huge(conn: socket.socket, stop: threading.Event) -> None:
    size = 64 * 1024 * 1024
    conn.sendall(
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode()
    )
    block = b" " * 65536
    for _ in range(size // len(block)):
        if stop.is_set():
            return
        conn.sendall(block)


@pytest.mark.parametrize("behaviour", [_trickle, _drop, _huge])
def test_misbehaving_endpoints_fall_back_within_the_deadline(
    behaviour: Any, caplog: pytest.LogCaptureFixture
) -> None:
    raw = RawServer(behaviour)
    try:
        cfg = LLMConfig(base_url=raw.url, timeout=2.0, retries=1)
        with caplog.at_level(logging.WARNING, logger="restora.language.backends"):
            intent = parse_with_fallback("remove the noise", cfg)
        connections, completed = raw.connections, raw.completed
    finally:
        raw.close()
    assert intent.tasks == ("denoise",)  # the embedded parser answered
    if behaviour is _trickle:
        # the 2 s deadline cut the 30 s trickle short, and it covers the retry: no time was
        # left for a second request (a deadline per request would have made one)
        assert (connections, completed) == (1, 0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    if behaviour is _huge:  # refused at the cap, not read whole (three times, once)
        assert "larger than 4 MB" in warnings[0].getMessage()


def test_a_bad_timeout_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from restora.errors import RestoraError

    monkeypatch.setenv("RESTORA_LLM_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("RESTORA_LLM_TIMEOUT", "abc")
    with pytest.raises(RestoraError, match="RESTORA_LLM_TIMEOUT must be a number"):
        LLMConfig.from_env()


def test_instructions_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from restora.language import parse
    from restora.language.parser import MAX_INSTRUCTION_CHARS, InstructionError

    assert parse("remove the noise").tasks == ("denoise",)
    assert MAX_INSTRUCTION_CHARS == 2000

    def never(text: str) -> Any:
        raise AssertionError("a parser saw the over-long instruction")

    # refused by its length before any parser (or a chat endpoint) reads it
    monkeypatch.delenv("RESTORA_LLM_URL", raising=False)
    monkeypatch.delenv("RESTORA_LLM_CONFIG", raising=False)
    monkeypatch.setattr("restora.language.parser.parse_instruction", never)
    with pytest.raises(InstructionError, match="at most 2000"):
        parse("remove the noise " * 10_000)
