"""Optional external backends, off by default: an OpenAI-compatible chat endpoint (Ollama, vLLM,
LM Studio, anything serving ``/v1/chat/completions``) for instruction parsing. The same client
and configuration serve image degradation classification by a vision-language model, the
``vlm`` analyzer backend of :mod:`restora.perception.vlm`.

Configuration comes from the environment (or a JSON file named by ``RESTORA_LLM_CONFIG``):

- ``RESTORA_LLM_URL``: base URL, e.g. ``http://127.0.0.1:11434/v1`` (unset = backend off)
- ``RESTORA_LLM_MODEL``: model name (default ``llama3.1``)
- ``RESTORA_LLM_API_KEY``: bearer token, when the server wants one
- ``RESTORA_LLM_TIMEOUT``: seconds for the whole request, retries included (default 20)
- ``RESTORA_LLM_RETRIES``: retries within that deadline (default 1)
- ``RESTORA_VLM_URL`` / ``RESTORA_VLM_MODEL``: the same for image classification (default: the
  LLM settings; read with ``LLMConfig.from_env("RESTORA_VLM")``)

Only the standard library's ``urllib`` is used, so this adds no dependency. The timeout is a
deadline for the whole exchange (a server trickling one byte every few seconds cannot hold a
request past it), answers larger than :data:`MAX_RESPONSE_BYTES` are refused, and every answer
is validated against the contract (:data:`INTENT_SCHEMA`); any failure falls back to the
embedded parser with one warning line. An endpoint that timed out or could not be reached is not
called again by the same process for :data:`UNREACHABLE_MEMORY_S` (a batch or a folder of photos
pays the timeout once, not once per file).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from restora.errors import InvalidValueError, NotAvailableError
from restora.types import Intent
from restora.vocabulary import LOOKS, STRENGTHS, TASKS

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""The largest answer read from a chat endpoint: a parse or a classification is a few hundred
bytes of JSON; anything near this is not an answer."""


class BackendError(NotAvailableError):
    """The external backend failed: unreachable, timed out, or answered something invalid."""


class EndpointDownError(BackendError):
    """The endpoint timed out or could not be reached a moment ago, so it was not asked again
    (see :data:`UNREACHABLE_MEMORY_S`)."""


UNREACHABLE_MEMORY_S = 600.0
"""After an endpoint times out or cannot be reached, this process does not call it again for
this long: a batch or a folder of photos must not wait the whole timeout once per file."""

_UNREACHABLE: dict[str, float] = {}
_UNREACHABLE_LOCK = threading.Lock()


def _unreachable_since(endpoint: str) -> float | None:
    """When ``endpoint`` last timed out or refused, if within :data:`UNREACHABLE_MEMORY_S`."""
    with _UNREACHABLE_LOCK:
        since = _UNREACHABLE.get(endpoint)
        if since is not None and time.monotonic() - since > UNREACHABLE_MEMORY_S:
            del _UNREACHABLE[endpoint]
            since = None
        return since


def _is_unreachable(error: BaseException | None) -> bool:
    """A timeout or a connection failure (not an HTTP error status, not an invalid answer)."""
    if error is None:  # the deadline passed with no answer
        return True
    if isinstance(error, urllib.error.HTTPError):
        return False
    return isinstance(error, (TimeoutError, ConnectionError, urllib.error.URLError))


def forget_unreachable_endpoints() -> None:
    """Call every endpoint again, even one that failed a moment ago (a test, a fixed server)."""
    with _UNREACHABLE_LOCK:
        _UNREACHABLE.clear()


@dataclass(frozen=True)
class LLMConfig:
    """Where the OpenAI-compatible endpoint is and how patiently to talk to it.

    The API key itself is read from ``api_key_env`` at request time, so it never appears in a
    repr, a log line or a saved config."""

    base_url: str
    model: str = "llama3.1"
    api_key_env: str = "RESTORA_LLM_API_KEY"
    timeout: float = 20.0
    retries: int = 1
    temperature: float = 0.0
    max_image_side: int = 768

    @property
    def endpoint(self) -> str:
        url = self.base_url.rstrip("/")
        return url if url.endswith("/chat/completions") else url + "/chat/completions"

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LLMConfig:
        """A JSON file whose keys are this class's fields (unknown keys are an error)."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise NotAvailableError(
                f"{path}: unknown LLM config keys {unknown}; valid: {sorted(known)}"
            )
        return cls(**raw)

    @classmethod
    def from_env(cls, prefix: str = "RESTORA_LLM") -> LLMConfig | None:
        """The configured backend, or None when it is off (no URL set)."""
        config: LLMConfig | None = None
        config_file = os.environ.get("RESTORA_LLM_CONFIG")
        if config_file:
            config = cls.from_file(config_file)
        url = os.environ.get(f"{prefix}_URL")
        if prefix != "RESTORA_LLM" and not url:
            base = cls.from_env()
            if base is None:
                return None
            model = os.environ.get(f"{prefix}_MODEL")
            return replace(base, model=model) if model else base
        if url:
            config = cls(base_url=url) if config is None else replace(config, base_url=url)
        if config is None:
            return None
        overrides: dict[str, Any] = {}
        if os.environ.get(f"{prefix}_MODEL"):
            overrides["model"] = os.environ[f"{prefix}_MODEL"]
        if os.environ.get(f"{prefix}_TIMEOUT"):
            overrides["timeout"] = _env_number(f"{prefix}_TIMEOUT", float, 0.1)
        if os.environ.get(f"{prefix}_RETRIES"):
            overrides["retries"] = _env_number(f"{prefix}_RETRIES", int, 0)
        return replace(config, **overrides)


def _env_number(name: str, kind: type, minimum: float) -> Any:
    text = os.environ[name]
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value != value or value < minimum:
        what = "a whole number" if kind is int else "a number of seconds"
        raise InvalidValueError(f"{name} must be {what} >= {minimum:g}, got {text!r}")
    return value


# --------------------------------------------------------------------------------------------
# The chat client
# --------------------------------------------------------------------------------------------


class ChatClient:
    """Minimal ``/chat/completions`` client over ``urllib`` with timeouts and retries."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config

    def _post(self, body: dict[str, Any], deadline: float) -> dict[str, Any]:
        """One POST, finished by ``deadline`` (``time.monotonic()``) or abandoned.

        urllib's timeout applies to each socket read, so a server that trickles bytes could hold
        it forever: the exchange runs in a worker thread that reads at most
        :data:`MAX_RESPONSE_BYTES` and stops between reads once the deadline has passed, and
        the caller waits for it only until the deadline."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.config.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(
            self.config.endpoint, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        outcome: dict[str, Any] = {}

        def exchange() -> None:
            try:
                remaining = max(0.05, deadline - time.monotonic())
                with urllib.request.urlopen(request, timeout=remaining) as response:
                    chunks: list[bytes] = []
                    size = 0
                    while time.monotonic() < deadline:
                        chunk = response.read1(65536)
                        if not chunk:
                            break
                        size += len(chunk)
                        if size > MAX_RESPONSE_BYTES:
                            raise BackendError(
                                f"the answer is larger than {MAX_RESPONSE_BYTES // 2**20} MB"
                            )
                        chunks.append(chunk)
                    else:
                        raise TimeoutError("the answer did not arrive in time")
                outcome["data"] = b"".join(chunks)
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=exchange, name="restora-llm-request", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()) + 0.05)
        if worker.is_alive() or not outcome:
            raise TimeoutError(f"no complete answer within {self.config.timeout:g} s")
        if "error" in outcome:
            raise outcome["error"]
        payload = json.loads(outcome["data"].decode("utf-8"))
        if not isinstance(payload, dict):
            raise BackendError("the chat endpoint did not answer a JSON object")
        return payload

    def complete(self, messages: list[dict[str, Any]], json_mode: bool = True) -> str:
        """The assistant message's text; raises :class:`BackendError` when the retries or the
        deadline (``config.timeout`` for the whole call, retries included) run out, and
        :class:`EndpointDownError` at once when the endpoint timed out or could not be reached
        within the last :data:`UNREACHABLE_MEMORY_S` seconds."""
        endpoint = self.config.endpoint
        since = _unreachable_since(endpoint)
        if since is not None:
            raise EndpointDownError(
                f"chat endpoint {endpoint} did not answer {time.monotonic() - since:.0f} s ago; "
                "not asked again for now"
            )
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "stream": False,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        last_error: Exception | None = None
        failures = 0
        deadline = time.monotonic() + self.config.timeout
        while failures <= self.config.retries and time.monotonic() < deadline:
            try:
                payload = self._post(body, deadline)
                content = payload["choices"][0]["message"]["content"]
                if not isinstance(content, str):
                    raise BackendError("the chat answer has no text content")
                return content
            except urllib.error.HTTPError as exc:
                last_error = exc
                if exc.code == 400 and "response_format" in body:
                    # some servers reject JSON mode: ask in words (not counted as a retry)
                    body.pop("response_format")
                    continue
                if exc.code not in (408, 429) and exc.code < 500:
                    break  # a client error will not go away by retrying
            except (
                urllib.error.URLError,
                http.client.HTTPException,  # IncompleteRead: a dropped connection
                TimeoutError,
                OSError,
                ValueError,
                KeyError,
                IndexError,
                TypeError,
                BackendError,
            ) as exc:  # unreachable, slow, or not speaking the protocol: retry, then give up
                last_error = exc
            failures += 1
            pause = min(2.0, 0.25 * 2 ** (failures - 1))
            if failures <= self.config.retries and time.monotonic() + pause < deadline:
                time.sleep(pause)
        reason = " ".join(str(last_error or "no time left").split())[:200]
        if _is_unreachable(last_error):
            with _UNREACHABLE_LOCK:
                _UNREACHABLE[endpoint] = time.monotonic()
        raise BackendError(f"chat endpoint {endpoint} failed: {reason}")


def extract_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer (models often wrap it in prose or code fences)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        match = re.search(r"\{.*\}", text, flags=re.DOTALL)
        if match is None:
            raise BackendError("the model's answer contains no JSON object") from None
        try:
            value = json.loads(match.group(0))
        except json.JSONDecodeError as exc:
            raise BackendError(f"the model's answer is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BackendError("the model's answer is not a JSON object")
    return value


# --------------------------------------------------------------------------------------------
# (a) Instructions
# --------------------------------------------------------------------------------------------

INTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["tasks", "exclude", "auto", "scale", "strength"],
    "properties": {
        "tasks": {"type": "array", "items": {"enum": list(TASKS)}, "uniqueItems": True},
        "exclude": {"type": "array", "items": {"enum": list(TASKS)}, "uniqueItems": True},
        "auto": {"type": "boolean"},
        "scale": {"enum": [2, 3, 4, None]},
        "strength": {"enum": list(STRENGTHS)},
        "unsupported": {"type": "array", "items": {"type": "string"}},
        "look": {"enum": list(LOOKS)},
    },
}
"""JSON schema of the answer the parsing prompt asks for (the ``parse --json`` contract)."""

PARSE_PROMPT = """You turn a photo-editing instruction into JSON for an image restoration tool.
Tasks it can do: denoise (noise, grain), deblur (blur, focus, sharpen, motion blur), dejpeg
(JPEG/compression artifacts), upscale (bigger, higher resolution; scale 2, 3 or 4), dehaze
(haze, fog, mist), derain (rain streaks, drops), brighten (dark, underexposed), dereflect
(reflections in glass).
Answer with one JSON object matching this JSON schema and nothing else:
{schema}
Rules: "tasks" lists the tasks asked for, in the order asked. "exclude" lists tasks the user
does not want ("don't sharpen", "keep the grain" excludes denoise). "auto" is true when the user
asks for a general improvement without naming tasks. "scale" is the upscale factor (2 when
upscaling without a factor) or null. "strength" is light, normal or strong from words like
"slightly" or "a lot". "unsupported" lists requests outside these tasks ("add a cat").
"look" is "detailed" when the user wants sharp, detailed, natural-looking results ("make it
crisp", "more detail", "realistic texture"), else "faithful" ("don't invent detail").
An instruction that only asks for an assessment gives no tasks and auto false."""


def _check_unique_enum(value: Any, name: str, allowed: Sequence[Any]) -> list[Any]:
    if not isinstance(value, list):
        raise BackendError(f"{name!r} must be a list, got {type(value).__name__}")
    out: list[Any] = []
    for item in value:
        if item not in allowed:
            raise BackendError(f"{name!r} holds {item!r}; valid: {list(allowed)}")
        if item not in out:
            out.append(item)
    return out


def validate_intent_payload(payload: dict[str, Any], text: str = "") -> Intent:
    """Check a model's answer against :data:`INTENT_SCHEMA` and build the Intent.

    Written by hand for this one schema rather than adding the jsonschema dependency."""
    missing = [k for k in INTENT_SCHEMA["required"] if k not in payload]
    if missing:
        raise BackendError(f"the model's intent lacks {missing}")
    tasks = _check_unique_enum(payload["tasks"], "tasks", TASKS)
    exclude = [
        t for t in _check_unique_enum(payload["exclude"], "exclude", TASKS) if t not in tasks
    ]
    if not isinstance(payload["auto"], bool):
        raise BackendError("'auto' must be true or false")
    scale = payload["scale"]
    if isinstance(scale, float) and scale.is_integer():
        scale = int(scale)
    if scale not in (2, 3, 4, None) or isinstance(scale, bool):
        raise BackendError(f"'scale' must be 2, 3, 4 or null, got {scale!r}")
    if "upscale" in tasks and scale is None:
        scale = 2
    if "upscale" not in tasks:
        scale = None
    if payload["strength"] not in STRENGTHS:
        raise BackendError(f"'strength' must be one of {list(STRENGTHS)}")
    look = payload.get("look", "faithful")
    if look not in LOOKS:
        raise BackendError(f"'look' must be one of {list(LOOKS)}")
    unsupported = payload.get("unsupported", [])
    if not isinstance(unsupported, list) or not all(isinstance(u, str) for u in unsupported):
        raise BackendError("'unsupported' must be a list of strings")
    return Intent(
        tasks=tuple(tasks),
        exclude=tuple(exclude),
        auto=payload["auto"],
        scale=scale,
        strength=payload["strength"],
        text=text,
        unsupported=tuple(unsupported),
        look=look,
    )


def parse_with_llm(text: str, config: LLMConfig, client: ChatClient | None = None) -> Intent:
    """Parse an instruction with the chat model; raises :class:`BackendError` on any failure."""
    client = client or ChatClient(config)
    messages = [
        {"role": "system", "content": PARSE_PROMPT.format(schema=json.dumps(INTENT_SCHEMA))},
        {"role": "user", "content": text},
    ]
    return validate_intent_payload(extract_json_object(client.complete(messages)), text)


def parse_with_fallback(text: str, config: LLMConfig) -> Intent:
    """The LLM's parse, or the embedded parser's (with a warning) when the LLM fails."""
    from restora.language.parser import InstructionError, parse_instruction

    if not isinstance(text, str) or not text.strip():
        raise InstructionError("the instruction is empty")
    try:
        return parse_with_llm(text, config)
    except Exception as exc:  # any failure of the optional backend: the embedded parser answers
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        log.warning("LLM instruction parsing failed (%s); using the embedded parser", reason)
        return parse_instruction(text)
