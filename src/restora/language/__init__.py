"""Language in every role: instructions in (``parse``), analyses and quality out in words
(``describe``), an embedded sentence encoder shared with the analyzer (``encoder``), and an
optional external chat backend for instructions (``backends``; the image classifiers that use
it are analyzer backends in :mod:`restora.perception`).

Imports are lazy: ``import restora.language`` loads no model; the MiniLM encoder loads on the
first call that needs it (``parse`` only needs it for clauses the lexicon does not cover).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from restora.language.descriptions import describe as describe
    from restora.language.descriptions import describe_quality as describe_quality
    from restora.language.encoder import embed_text as embed_text
    from restora.language.encoder import get_text_encoder as get_text_encoder
    from restora.language.parser import InstructionError as InstructionError
    from restora.language.parser import UnsupportedInstructionError as UnsupportedInstructionError
    from restora.language.parser import require_actionable as require_actionable
    from restora.types import Intent

# the module is "descriptions" so that the function, not a module, is language.describe
__getattr__, _, _lazy_names = lazy_loader.attach(
    __name__,
    submod_attrs={
        "descriptions": ["describe", "describe_quality"],
        "encoder": ["embed_text", "get_text_encoder"],
        "parser": ["InstructionError", "UnsupportedInstructionError", "require_actionable"],
    },
)
__all__ = sorted([*_lazy_names, "parse"])


def __dir__() -> list[str]:
    return list(__all__)


def parse(text: str) -> Intent:
    """Parse a plain-English instruction into an :class:`~restora.types.Intent`.

    Uses the external chat backend when ``RESTORA_LLM_URL`` is set (falling back to the
    embedded parser, with a warning, on any error), else the embedded parser. Raises
    :class:`InstructionError` for an empty instruction or one longer than
    :data:`~restora.language.parser.MAX_INSTRUCTION_CHARS` characters; an instruction asking for nothing restora
    can do returns an Intent whose ``unsupported`` lists what was asked (see
    :func:`require_actionable`).
    """
    from restora.language.backends import LLMConfig, parse_with_fallback
    from restora.language.parser import check_instruction

    check_instruction(text)
    config = LLMConfig.from_env()
    if config is not None:
        return parse_with_fallback(text, config)
    from restora.language.parser import parse_instruction

    return parse_instruction(text)
