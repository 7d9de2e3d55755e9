"""Language in every role: instructions in (``parse``), analyses and quality out in words
(``describe``), an embedded sentence encoder shared with the analyzer (``encoder``), and optional
external LLM / VLM / CLIP backends (``backends``).

Imports are lazy: ``import restora.language`` loads no model; the MiniLM encoder loads on the
first call that needs it (``parse`` only needs it for clauses the lexicon does not cover).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restora.types import Intent

__all__ = [
    "InstructionError",
    "UnsupportedInstructionError",
    "describe",
    "describe_quality",
    "embed_text",
    "get_text_encoder",
    "parse",
    "require_actionable",
]


def parse(text: str) -> Intent:
    """Parse a plain-English instruction into an :class:`~restora.types.Intent`.

    Uses the external chat backend when ``RESTORA_LLM_URL`` is set (falling back to the
    embedded parser, with a warning, on any error), else the embedded parser. Raises
    :class:`InstructionError` for an empty instruction; an instruction asking for nothing restora
    can do returns an Intent whose ``unsupported`` lists what was asked (see
    :func:`require_actionable`).
    """
    from restora.language.backends import LLMConfig, parse_with_fallback

    config = LLMConfig.from_env()
    if config is not None:
        return parse_with_fallback(text, config)
    from restora.language.parser import parse_instruction

    return parse_instruction(text)


def __getattr__(name: str) -> Any:
    if name in ("describe", "describe_quality"):
        # the module is "descriptions" so that the function, not a module, is language.describe
        from restora.language import descriptions

        return getattr(descriptions, name)
    if name in ("get_text_encoder", "embed_text"):
        from restora.language import encoder

        return getattr(encoder, name)
    if name in ("InstructionError", "UnsupportedInstructionError", "require_actionable"):
        from restora.language import parser

        return getattr(parser, name)
    raise AttributeError(f"module 'restora.language' has no attribute {name!r}")
