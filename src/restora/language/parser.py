"""The embedded instruction parser: plain English in, :class:`restora.types.Intent` out.

How it reads an instruction (each step is a pure function below, so each can be tested alone):

1. ``normalise_text``: lower case, unify quotes and symbols, protect phrases that contain a
   conjunction ("black and white", "salt and pepper") from the clause splitter.
2. ``correct_typos``: a word that is neither in MiniLM's WordPiece vocabulary (about 20k common
   English words) nor in the task lexicon is replaced by its closest lexicon word when the
   similarity is high ("nosie" -> "noise", "brigthen" -> "brighten"); real words are never
   touched ("blue" stays "blue").
3. ``split_clauses``: clauses at punctuation and at conjunctions (and, but, or, then, also, while,
   after...). A clause that continues a negated or "keep" clause without a verb of its own
   ("don't sharpen *or upscale*", "keep the grain *and the blur*") inherits its polarity.
4. Per clause, ``find_mentions`` matches the lexicon of ``data/task_descriptions.json``: each cue
   names a task and a kind, *problem* (noise, blur), *action* (denoise, sharpen) or *target*
   (sharper, brighter). Overlaps go to the longest match, so "mosquito noise" is JPEG and "add
   some noise" is an unsupported request, not a denoise.
5. Polarity decides what a mention means: "no noise" or "I don't want grain" ask for denoise,
   "don't sharpen" or "without losing the grain" exclude a task, "keep the grain" or "the grain is
   fine" exclude it, "it's not sharp enough" asks for deblur.
6. A clause with no cue at all is compared, by MiniLM cosine similarity, with rich descriptions of
   every task and of general-fix, assess-only, unsupported and small-talk requests; this is what
   generalises to phrasings nobody listed ("I can hardly make out the faces").
7. Scale factors ("2x", "x4", "4 times", "twice as large", "quadruple", "200%") and intensity words
   ("slightly" -> light, "a lot" -> strong) are read from the whole instruction.

8. The look (``Intent.look``): "make it sharper", "more detail", "natural-looking",
   "realistic texture" ask for the ``detailed`` look (generative experts first); "don't invent
   detail", "keep it faithful", "don't make it look fake" keep the ``faithful`` default, and a
   faithful cue wins over any detail cue (:func:`clause_look`).

Conventions (documented in docs/language.md): ``upscale`` asked without a factor gets scale 2;
factors above 4 are clamped to 4 and between 1 and 2 rounded up to 2; an instruction that only
excludes tasks ("just don't upscale") means "fix the rest" (``auto`` true); an instruction that
asks only for an assessment ("just tell me the quality") gives no tasks and ``auto`` false; the
clauses that ask for things restora cannot do are listed in ``Intent.unsupported`` (the whole
text when nothing in it is understood), and :func:`require_actionable` turns an instruction with
nothing to do into an :class:`UnsupportedInstructionError`.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from restora.errors import RestoraError
from restora.types import Intent
from restora.vocabulary import TASKS

DATA_FILE = Path(__file__).resolve().parent / "data" / "task_descriptions.json"

CATEGORIES: tuple[str, ...] = ("auto", "assess", "unsupported", "other")
"""Clause classes besides the tasks: a general fix, an assessment only, a request restora
cannot serve, and small talk ("it's a photo of my grandma")."""

CAPABILITIES = (
    "restora can denoise, deblur/sharpen, remove JPEG artifacts, upscale (2x-4x), dehaze, "
    "derain, brighten and remove reflections, or assess quality"
)


class InstructionError(RestoraError):
    """An instruction that cannot be parsed at all (empty, not text, or too long)."""


MAX_INSTRUCTION_CHARS = 2000
"""The longest instruction accepted. A restoration request is a sentence or two; parsing is
roughly linear in the length with a large constant (1 MB of text took 220 s), so a cap keeps one
request from occupying a worker for minutes."""


def check_instruction(text: object) -> str:
    """``text`` if it is a non-empty instruction of at most :data:`MAX_INSTRUCTION_CHARS`
    characters; else :class:`InstructionError` with one clear line."""
    if not isinstance(text, str):
        raise InstructionError(f"an instruction must be text, got {type(text).__name__}")
    if not text.strip():
        raise InstructionError(f"the instruction is empty; {CAPABILITIES}")
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise InstructionError(
            f"the instruction has {len(text)} characters; at most {MAX_INSTRUCTION_CHARS} are "
            "accepted (describe what to fix in a sentence or two)"
        )
    return text


class UnsupportedInstructionError(InstructionError):
    """An instruction that asks for nothing restora can do; the message lists what it can do."""


# --------------------------------------------------------------------------------------------
# Lexicon
# --------------------------------------------------------------------------------------------

_BOUNDARY_LEFT = r"(?<![a-z0-9])"
_BOUNDARY_RIGHT = r"(?![a-z0-9])"


def _word_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_BOUNDARY_LEFT + "(?:" + pattern + ")" + _BOUNDARY_RIGHT)


@dataclass(frozen=True)
class Cue:
    """One lexicon entry: which label it points at (a task or a category), its kind and weight."""

    label: str
    kind: str  # problem | action | target | category
    weak: bool
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    cues: tuple[Cue, ...]
    descriptions: dict[str, tuple[str, ...]]
    vocabulary: frozenset[str]


@cache
def load_lexicon(path: Path = DATA_FILE) -> Lexicon:
    """Read ``task_descriptions.json`` (cached)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    cues: list[Cue] = []
    descriptions: dict[str, tuple[str, ...]] = {}
    for task, entry in raw["tasks"].items():
        if task not in TASKS:
            raise ValueError(f"{path}: unknown task {task!r}")
        for spec in entry["cues"]:
            weak = spec.startswith("~")
            kind, _, pattern = spec.lstrip("~").partition(":")
            cues.append(Cue(task, kind, weak, _word_regex(pattern)))
        descriptions[task] = tuple(entry["descriptions"])
    for category, entry in raw["categories"].items():
        if category not in CATEGORIES:
            raise ValueError(f"{path}: unknown category {category!r}")
        for pattern in entry.get("cues", []):
            cues.append(Cue(category, "category", False, _word_regex(pattern)))
        descriptions[category] = tuple(entry["descriptions"])
    vocabulary = frozenset(w.lower() for w in raw["vocabulary"])
    return Lexicon(tuple(cues), descriptions, vocabulary)


# --------------------------------------------------------------------------------------------
# 1-2. Normalisation and typo correction
# --------------------------------------------------------------------------------------------

_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    (r"[‘’`´]", "'"),
    (r"[“”]", '"'),
    (r"×", "x"),
    (r"\bb\s*&\s*w\b", "black_and_white"),
    (r"\bblack[- ]and[- ]white\b", "black_and_white"),
    (r"\bsalt[- ]and[- ]pepper\b", "salt_and_pepper"),
    (r"&|\+", " and "),
    (r"\b(do|does|is|are|was|were|ca|could|would|should|must|have|has|did|wo)nt\b", r"\1n't"),
    (r"\bcant\b", "can't"),
    (r"\bim\b", "i'm"),
    (r"\bpls\b|\bplz\b|\bplease\b", "please"),
    (r"\b(any|every|some)thing (but)\b", r"\1thing except"),
    (r"\ball but\b", "all except"),
    (r"\s+", " "),
)
_COMPILED_REPLACEMENTS = tuple((re.compile(a), b) for a, b in _REPLACEMENTS)


def normalise_text(text: str) -> str:
    """Lower-cased, NFKC-normalised text with unified quotes and protected fixed phrases."""
    out = unicodedata.normalize("NFKC", text).lower()
    for pattern, replacement in _COMPILED_REPLACEMENTS:
        out = pattern.sub(replacement, out)
    return out.strip()


@cache
def _known_words() -> frozenset[str]:
    from restora.language.encoder import read_wordpiece_vocabulary

    try:
        common = read_wordpiece_vocabulary()
    except (OSError, RestoraError):  # the wheel is a dependency, but stay usable without it
        common = frozenset()
    return common | load_lexicon().vocabulary


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def correct_typos(text: str, cutoff: float = 0.8) -> tuple[str, dict[str, str]]:
    """Replace unknown words by their closest lexicon word; returns the text and the fixes.

    difflib's ratio (standard library) is enough here: the lexicon is a few hundred words and
    only words outside a 20k-word English vocabulary are looked up, so a C fuzzy matcher would
    add a dependency for no measurable gain.
    """
    known = _known_words()
    lexicon_words = sorted(load_lexicon().vocabulary)
    fixes: dict[str, str] = {}

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < 4 or word in known or "'" in word:
            return word
        close = difflib.get_close_matches(word, lexicon_words, n=1, cutoff=cutoff)
        if close:
            fixes[word] = close[0]
            return close[0]
        return word

    return _WORD.sub(fix, text), fixes


# --------------------------------------------------------------------------------------------
# 3. Clauses
# --------------------------------------------------------------------------------------------

# Separators are consumed, except the negating ones (without, except...) which stay at the start
# of the clause they open, because they carry its polarity.
_SPLIT = re.compile(
    r"\s*(?:(?P<sep>[.;!?]+(?=\s|$)|,|:|\s-\s|\(|\)|\b(?:and then|and also|and|but|or|nor|then|"
    r"also|plus|after that|afterwards|after|before|while|whereas|as well as|along with|though|"
    r"although|however)\b)|(?=\b(?P<kept>without|except|excluding|other than|apart from|besides)\b))"
    r"\s*"
)


@dataclass
class Clause:
    text: str
    start: int  # offset in the normalised instruction, used for ordering
    connector: str = ""  # the separator that opened this clause ("and", "but", ",", ...)
    polarity: str = ""  # inherited negation: "", "neg", "absence", "keep"


def split_clauses(text: str) -> list[Clause]:
    """Clauses of a normalised instruction, with the connector that precedes each one."""
    clauses: list[Clause] = []
    position = 0
    connector = ""
    for match in _SPLIT.finditer(text):
        piece = text[position : match.start()]
        if piece.strip():
            clauses.append(Clause(piece.strip(), position, connector))
            connector = ""
        sep = (match.group("sep") or match.group("kept") or "").strip()
        connector = connector or sep  # keep the first of adjacent separators
        position = match.end()
    if text[position:].strip():
        clauses.append(Clause(text[position:].strip(), position, connector))
    return clauses


# --------------------------------------------------------------------------------------------
# 4-5. Mentions and polarity
# --------------------------------------------------------------------------------------------

# Negation and keep phrases. They are matched outside task mentions, longest first.
_ABSENCE = _word_regex(
    r"no|without|free (of|from)|(don't|do not|doesn't|does not|didn't) (want|like|need|love)( any| the)?|"
    r"(i |we )?(hate|dislike|can't stand|cannot stand)|less|fewer"
)
_NEGATION = _word_regex(
    r"don't|do not|dont|never|avoid|skip|except|excluding|other than|apart from|besides|"
    r"no need( to)?|not needed|unnecessary|not necessary|needn't|shouldn't|should not|mustn't|"
    r"must not|leave out|hold off( on)?|refrain from|not (do|apply|use)|no more|stop|"
    r"please don't|don't bother|not interested in|forget( about)?"
)
_COPULA_NOT = _word_regex(
    r"(is|are|was|were|does|do|looks?)n't|(is|are|was|were|does|do|looks?) not|not|isnt|arent|"
    r"lacks?|lacking"
)
_KEEP = _word_regex(
    r"keep(ing|s)?|preserv(e|es|ing)|retain(s|ing)?|maintain(s|ing)?|protect(s|ing)?|spare|"
    r"leave|leaving|stay(s)?|remain(s)?|untouched|alone|intact|as (it|they) (is|are)|"
    r"(is|are|'s|'re) (fine|ok|okay|intentional|deliberate|wanted|desired|on purpose|artistic|"
    r"part of|good|nice|great|the point|a feature|the style|stylistic)|"
    r"(i|we) (really )?(like|love|want to keep)|(like|love) it(?= *$)|on purpose|intentional"
)
_REMOVAL = _word_regex(
    r"remov(e|es|ed|ing)|reduc(e|es|ed|ing)|los(e|es|ing)|lost|loos(e|ing)|get(ting)? rid|"
    r"eliminat\w*|clean(ing|ed)?|fix(ing|ed)?|touch(ing|ed)?|handl(e|ing)|treat(ing)?|"
    r"process(ing)?|correct(ing)?|kill(ing)?|eras(e|ing)|strip(ping)?|suppress(ing)?|"
    r"cut(ting)?|minimi[sz](e|ing)|tone down|toning down|deal(ing)? with|worry about|mess(ing)? with|"
    r"chang(e|ing)|filter(ing)?( out)?|smooth(ing)? (out|over)|wip(e|ing)( out)?|do anything (about|with)"
)
# "fix it", "clean that up", "could you restore it for me": a general verb whose object is a
# pronoun refers back to the problems already named, so it is not a request for a general fix
_ANAPHORIC_FIX = re.compile(
    r"^(?:(?:please|can|could|would|will|you|just|then|so|and|also|kindly|do|something|about|"
    r"fix|clean|repair|sort|tidy|correct|handle|restore|improve|enhance|touch|deal|with|"
    r"it|this|that|them|both|those|these|up|out|for|me|us|please|now|thanks|thank)\b\s*)+\??$"
)
_MAKE_VERB = _word_regex(r"make|making|made|get|getting|turn|turning|render|go|boost|increase")
_PARTIAL = _word_regex(
    r"some|a (little|bit|touch|hint)( of)?|part of|a few|bits of|a little bit of"
)
_VERB_START = _word_regex(
    r"(please )?(remove|fix|make|brighten|sharpen|denoise|deblur|upscale|enlarge|reduce|increase|"
    r"get|clean|lift|boost|improve|enhance|restore|correct|dehaze|derain|dejpeg|lighten|add|"
    r"can|could|would|i|i'm|it|it's|it is|this|there|we|you|do|try|also|just|then|turn|take|"
    r"bring|give|apply|raise|scale|blow|double|triple|quadruple|tell|rate|check|analy[sz]e|"
    r"unblur|focus|refocus|kill|erase|lose|get rid|eliminate|dereflect|defog|deblock|undo|"
    r"recover|rescue|repair|save|crop|rotate|change|replace)"
)


# The look (``Intent.look``): cues for invented detail and for a faithful result. They are read
# per clause with the clause's polarity, like a task's *target* cue: "make it sharper" or "with
# natural detail" ask for the detailed look, "don't invent detail" or "without losing detail"
# for the faithful one; "keep it sharp" asks for neither. The bare action "sharpen" (and "deblur")
# is a task, not a look; a faithful cue anywhere wins over every detail cue.
_DETAIL_LOOK = _word_regex(
    r"sharp(er|est|ness)?|crisp(er|ness|y)?|detailed|high[- ]detail|"
    r"(more|fine|finer|extra|rich|richer|natural|realistic|real|lifelike|sharp|crisp|new|"
    r"lots of|plenty of|high|higher|better|much more) (levels? of )?details?|"
    r"(add|adding|bring(ing)? out|recover(ing)?|restor(e|ing)|enhanc(e|ing)|boost(ing)?|"
    r"increas(e|ing)|reveal(ing)?|invent(s|ed|ing)?|creat(e|ing)|generat(e|ing)|"
    r"hallucinat(e|es|ed|ing)|mak(e|ing) up)( some| more| the| fine| lost| missing| new| any)? "
    r"(details?|textures?)|"
    r"natural[- ]looking|natural (details?|textures?)|realistic( (details?|textures?|look(ing)?))?|"
    r"photo-?realistic|life-?like|(more|fine|rich|richer|real|lifelike) textures?|textured|"
    r"hallucinat(e|es|ed|ing|ion|ions)|invented (details?|textures?)|generative|perceptual(ly)?"
)
_FAITHFUL_LOOK = _word_regex(
    r"faithful(ly|ness)?|true to (the )?(original|source|photo|image|picture)|"
    r"(look(s|ing)? )?(fake|artificial|plastic(ky|y)?|over-?processed)|over-?sharpen\w*|"
    r"authentic(ally)?"
)


def clause_look(text: str, polarity: ClausePolarity, inherited: str = "") -> str | None:
    """The look one clause asks for: ``"detailed"``, ``"faithful"`` or None (no look cue, or
    one that asks for neither, "keep it sharp"). A faithful cue ("keep it faithful", "don't
    make it look fake") is faithful whatever its polarity; a detail cue follows the clause's
    polarity like a task target: requested -> detailed, negated or absent -> faithful."""
    if _FAITHFUL_LOOK.search(text) is not None:
        return "faithful"
    if _DETAIL_LOOK.search(text) is None:
        return None
    effect = mention_effect("target", polarity, inherited)
    return {"request": "detailed", "exclude": "faithful"}.get(effect)


@dataclass
class Mention:
    label: str
    kind: str
    weak: bool
    start: int
    end: int


def find_mentions(clause: str) -> list[Mention]:
    """Non-overlapping lexicon matches in a clause, longest first; weak task cues are dropped
    when the clause has a strong task cue."""
    found: list[Mention] = []
    for cue in load_lexicon().cues:
        for match in cue.regex.finditer(clause):
            found.append(Mention(cue.label, cue.kind, cue.weak, match.start(), match.end()))
    found.sort(key=lambda m: (-(m.end - m.start), m.start))
    kept: list[Mention] = []
    for mention in found:
        if all(mention.end <= k.start or mention.start >= k.end for k in kept):
            kept.append(mention)
    # Category cues (auto, assess) may overlap task cues: "improve the sharpness" is both.
    for mention in found:
        if (
            mention.kind == "category"
            and mention.label in ("auto", "assess")
            and mention not in kept
            and all(
                mention.end <= k.start or mention.start >= k.end
                for k in kept
                if k.kind == "category"
            )
        ):
            kept.append(mention)
    has_strong_task = any(m.label in TASKS and not m.weak for m in kept)
    if has_strong_task:
        kept = [m for m in kept if not (m.label in TASKS and m.weak)]
    return sorted(kept, key=lambda m: m.start)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " "
    return "".join(chars)


def _first(regex: re.Pattern[str], text: str) -> int | None:
    match = regex.search(text)
    return None if match is None else match.start()


@dataclass
class ClausePolarity:
    """Where negation, absence and keep cues sit in a clause (character offsets, None = absent)."""

    negation: int | None = None
    absence: int | None = None
    copula_not: int | None = None
    keep: int | None = None
    partial: bool = False
    removal: bool = False
    make: bool = False

    @property
    def inheritable(self) -> str:
        if self.keep is not None:
            return "keep"
        if self.negation is not None:
            return "neg"
        if self.absence is not None:
            return "absence"
        return ""


def clause_polarity(text: str, mentions: list[Mention]) -> ClausePolarity:
    masked = _mask(text, [(m.start, m.end) for m in mentions if m.label in TASKS])
    polarity = ClausePolarity()
    polarity.negation = _first(_NEGATION, masked)
    if masked.startswith("not "):  # "brighten it but not the noise"
        polarity.negation = 0
    # absence ("no", "without", "don't want") is read with the imperative negations removed, so
    # that "don't want" is absence and "don't" alone is not
    absence_text = masked
    polarity.absence = _first(_ABSENCE, absence_text)
    if polarity.absence is not None:
        match = _ABSENCE.search(absence_text)
        assert match is not None
        if polarity.negation is not None and polarity.negation >= match.start():
            # "don't want" matched both: it is absence, not an imperative negation
            rest = _mask(masked, [(match.start(), match.end())])
            polarity.negation = _first(_NEGATION, rest)
    polarity.copula_not = _first(_COPULA_NOT, _mask(masked, _spans(_ABSENCE, masked)))
    polarity.keep = _first(_KEEP, masked)
    polarity.partial = _PARTIAL.search(masked) is not None
    polarity.removal = _REMOVAL.search(masked) is not None
    polarity.make = _MAKE_VERB.search(masked) is not None
    return polarity


def _spans(regex: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in regex.finditer(text)]


def mention_effect(kind: str, polarity: ClausePolarity, inherited: str = "") -> str:
    """What a task mention asks for given its clause's polarity: request, exclude or nothing."""
    keep = polarity.keep is not None or (inherited == "keep" and not polarity.removal)
    negation = polarity.negation is not None or inherited == "neg"
    absence = polarity.absence is not None or inherited == "absence"
    if negation:
        # "don't sharpen", "don't remove the grain", "no need to upscale"
        return "exclude"
    if keep:
        if kind == "problem":
            # "keep some grain" asks for a light touch, "keep the grain" for none at all
            return "light" if polarity.partial else "exclude"
        return "nothing"  # "keep it sharp", "keep the colours bright"
    if absence:
        if kind == "problem":
            # "no noise", "without blur", "I don't want it grainy" -> remove it; but
            # "without losing the grain" -> keep it
            return "exclude" if polarity.removal else "request"
        return "exclude"  # "no sharpening", "without upscaling", "don't want it brighter"
    if polarity.copula_not is not None:
        if kind == "target":
            return "request"  # "it's not sharp enough", "isn't bright"
        return "nothing"  # "it isn't noisy", "the sky is not hazy"
    return "request"


# --------------------------------------------------------------------------------------------
# 7. Scale and strength
# --------------------------------------------------------------------------------------------

_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8}
_SCALE_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], float]], ...] = (
    (_word_regex(r"(\d+(?:\.\d+)?) ?(?:x|times|fold)"), lambda m: float(m.group(1))),
    (_word_regex(r"x ?(\d+(?:\.\d+)?)"), lambda m: float(m.group(1))),
    (_word_regex(r"(\d{3})(?: ?%| percent)"), lambda m: float(m.group(1)) / 100.0),
    (
        _word_regex(r"(?:by )?(?:a )?factor (?:of )?(\d+|two|three|four|five|six|eight)"),
        lambda m: float(_NUMBER_WORDS.get(m.group(1), 0) or m.group(1)),
    ),
    (
        _word_regex(r"(two|three|four|five|six|eight)[- ]?(?:times|fold)"),
        lambda m: float(_NUMBER_WORDS[m.group(1)]),
    ),
    (
        _word_regex(r"(?:up|scale[sd]?|enlarge[sd]?|increase[sd]?|size) by (two|three|four)"),
        lambda m: float(_NUMBER_WORDS[m.group(1)]),
    ),
    (_word_regex(r"twice|double[sd]?|doubling"), lambda m: 2.0),
    (_word_regex(r"thrice|tripl(?:e|ed|es|ing)"), lambda m: 3.0),
    (_word_regex(r"quadrupl(?:e|ed|es|ing)"), lambda m: 4.0),
)
_RESOLUTION_SPEC = re.compile(r"\b\d{3,5} ?x ?\d{3,5}\b")


def find_scale(text: str) -> tuple[int | None, int | None]:
    """``(factor, offset)`` of an upscale factor in a normalised instruction, or ``(None, None)``.

    Factors are clamped to the 2-4 range the experts support (8x -> 4, 1.5x -> 2)."""
    text = _RESOLUTION_SPEC.sub(lambda m: " " * len(m.group(0)), text)
    best: tuple[int, float] | None = None
    for regex, value in _SCALE_PATTERNS:
        for match in regex.finditer(text):
            factor = value(match)
            if factor > 1.0 and (best is None or match.start() < best[0]):
                best = (match.start(), factor)
    if best is None:
        return None, None
    offset, factor = best
    return int(min(4, max(2, round(factor)))), offset


_LIGHT = _word_regex(
    r"slight(ly)?|a (little|bit|touch|tad|hint)( bit)?|little|gentl(e|y)|subtl(e|y)|lightly|"
    r"light (touch|denois\w*|sharpen\w*|pass|clean ?up|edit|brighten\w*|correction)|mild(ly)?|"
    r"minimal(ly)?|careful(ly)?|conservative(ly)?|somewhat|softly|modest(ly)?|"
    r"(not|nothing) too (much|strong|strongly|heavy|heavily|aggressive|aggressively|hard|far)|"
    r"(don't|do not|without) over(do|doing|process\w*|smooth\w*|sharpen\w*|brighten\w*)?( it)?|"
    r"over-?(smooth|sharpen|process|brighten|do)\w*|natural|tiny bit|just a bit|a small amount|"
    r"a touch of|light"
)
_STRONG = _word_regex(
    r"a lot|lots|heav(y|ily)|really|very|way (too|so|more|under\w*|over\w*|dark\w*|nois\w*|blur\w*)|extremely|aggressive(ly)?|strong(ly)?|hard|much|"
    r"maximum|max|massive(ly)?|seriously|severe(ly)?|completely|totally|entirely|fully|super|"
    r"terribl(e|y)|horribl(e|y)|awful(ly)?|badly|way too|so (noisy|dark|blurry|grainy|hazy|foggy)|"
    r"as much as possible|all the way|a ton|tons|insanely|crazy|incredibly|drastic(ally)?|"
    r"significant(ly)?|substantial(ly)?|intense(ly)?|thoroughly|strongest|full strength"
)


def find_strength(text: str) -> str:
    """``light``, ``normal`` or ``strong`` from intensity words (more cues win; a tie goes to the
    first). "low light" and "lighten" are lighting words, not intensities."""
    text = re.sub(r"\b(low|dim|poor|bad|more|better|the|of) light(ing)?\b", " ", text)
    text = re.sub(r"\blight (it|this) up\b|\bsuper[- ]?res\w*", " ", text)
    # "natural detail" / "natural-looking" ask for a look (Intent.look), not for a light touch
    text = re.sub(r"\bnatural[- ](looking|details?|textures?)\b", " ", text)
    light = [m.start() for m in _LIGHT.finditer(text)]
    masked = _mask(text, _spans(_LIGHT, text))
    strong = [m.start() for m in _STRONG.finditer(masked)]
    if not light and not strong:
        return "normal"
    if len(light) != len(strong):
        return "light" if len(light) > len(strong) else "strong"
    return "light" if min(light) < min(strong) else "strong"


# --------------------------------------------------------------------------------------------
# 6. Semantic fallback
# --------------------------------------------------------------------------------------------


class SemanticClauseClassifier:
    """Nearest-description classifier over MiniLM embeddings for clauses without a lexicon cue.

    Each label (task or category) is represented by its descriptions; a clause gets the label
    of its most similar description when the similarity clears ``threshold`` and beats the best
    other label by ``margin``. ``encode`` is injectable so tests and benchmarks can share one
    loaded encoder.
    """

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray] | None = None,
        threshold: float = 0.42,
        margin: float = 0.03,
    ) -> None:
        if encode is None:
            from restora.language.encoder import get_text_encoder

            encoder = get_text_encoder()
            encode = encoder.encode
        self.encode = encode
        self.threshold = threshold
        self.margin = margin
        lexicon = load_lexicon()
        self.labels: list[str] = []
        texts: list[str] = []
        for label, descriptions in lexicon.descriptions.items():
            for description in descriptions:
                self.labels.append(label)
                texts.append(description)
        self.label_names = sorted(set(self.labels), key=self.labels.index)
        self.matrix = np.asarray(self.encode(texts), dtype=np.float32)

    def scores(self, clause: str) -> dict[str, float]:
        vector = np.asarray(self.encode([clause]), dtype=np.float32)[0]
        sims = self.matrix @ vector
        out: dict[str, float] = {}
        for label, sim in zip(self.labels, sims, strict=True):
            out[label] = max(out.get(label, -1.0), float(sim))
        return out

    def classify(self, clause: str) -> tuple[str, float]:
        scores = self.scores(clause)
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        (best, best_score), (_, second_score) = ranked[0], ranked[1]
        if best_score < self.threshold or best_score - second_score < self.margin:
            return "other", best_score
        return best, best_score


_CLASSIFIER: SemanticClauseClassifier | None = None


def default_classifier() -> SemanticClauseClassifier:
    global _CLASSIFIER
    if _CLASSIFIER is None:
        _CLASSIFIER = SemanticClauseClassifier()
    return _CLASSIFIER


# --------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------


@dataclass
class ParseTrace:
    """Why the parser decided what it did (``parse(..., trace=True)``; shown by ``-v``)."""

    normalised: str = ""
    typo_fixes: dict[str, str] = field(default_factory=dict)
    clauses: list[dict[str, Any]] = field(default_factory=list)


def _starts_without_verb(text: str) -> bool:
    match = _VERB_START.match(text)
    return match is None


def parse_instruction(
    text: str,
    classifier: SemanticClauseClassifier | None = None,
    use_semantic: bool = True,
    trace: ParseTrace | None = None,
) -> Intent:
    """Parse ``text`` into an :class:`Intent` with the embedded lexicon and MiniLM fallback."""
    check_instruction(text)
    normalised = normalise_text(text)
    corrected, fixes = correct_typos(normalised)
    if trace is not None:
        trace.normalised, trace.typo_fixes = corrected, fixes

    events: list[tuple[float, str, str]] = []  # (order, task, "request" | "exclude")
    light_from_partial = False
    auto = False
    anaphoric_auto = False
    assess = False
    understood = False
    unsupported: list[str] = []
    previous_polarity = ""
    previous_order = 0.0
    looks: list[str] = []
    for clause in split_clauses(corrected):
        mentions = find_mentions(clause.text)
        polarity = clause_polarity(clause.text, mentions)
        inherited = ""
        if (
            previous_polarity
            and not polarity.inheritable
            and (clause.connector in ("or", "nor", ",") or clause.connector == "and")
            and (clause.connector in ("or", "nor") or _starts_without_verb(clause.text))
        ):
            inherited = previous_polarity
        order = float(clause.start)
        if clause.connector == "after":
            order = previous_order - 0.5  # "sharpen it after removing the noise"
        labels = [m for m in mentions if m.label in TASKS]
        requested_here = False
        info: dict[str, Any] = {"text": clause.text, "inherited": inherited}
        look_here = clause_look(clause.text, polarity, inherited)
        if look_here is not None:
            looks.append(look_here)
            info["look"] = look_here
        for mention in labels:
            effect = mention_effect(mention.kind, polarity, inherited)
            info.setdefault("effects", []).append((mention.label, mention.kind, effect))
            understood = True
            if effect == "light":
                light_from_partial = True
            elif effect in ("request", "exclude"):
                events.append((order + mention.start / 1000.0, mention.label, effect))
                requested_here = requested_here or effect == "request"
        categories = {m.label: m for m in mentions if m.kind == "category"}
        negated_before = polarity.negation if polarity.negation is not None else polarity.absence
        if not requested_here:
            if "unsupported" in categories:
                understood = True
                if negated_before is None and not inherited:
                    unsupported.append(clause.text)
            elif "auto" in categories:
                understood = True
                auto_at = categories["auto"].start
                if (negated_before is None or negated_before > auto_at) and inherited != "neg":
                    if _ANAPHORIC_FIX.match(clause.text):
                        anaphoric_auto = True
                    else:
                        auto = True
                else:
                    assess = True  # "don't fix anything": no change asked
            elif "assess" in categories:
                understood = True
                assess = True
            elif not labels and use_semantic and len(clause.text.split()) >= 2:
                label, score = (classifier or default_classifier()).classify(clause.text)
                info["semantic"] = (label, round(score, 3))
                if label in TASKS:
                    understood = True
                    effect = mention_effect("problem", polarity, inherited)
                    if effect in ("request", "exclude"):
                        events.append((order, label, effect))
                elif label == "auto" and polarity.negation is None:
                    understood, auto = True, True
                elif label == "assess":
                    understood, assess = True, True
                elif label == "unsupported" and polarity.negation is None and polarity.keep is None:
                    understood = True
                    unsupported.append(clause.text)
        if trace is not None:
            trace.clauses.append(info)
        previous_polarity = polarity.inheritable or inherited
        previous_order = order

    scale, scale_at = find_scale(corrected)
    state: dict[str, tuple[float, str]] = {}
    for order, task, effect in sorted(events):
        first_order = state[task][0] if task in state else order
        state[task] = (first_order if effect == "request" else order, effect)
    if scale is not None and scale_at is not None and "upscale" not in state:
        state["upscale"] = (float(scale_at), "request")
    tasks = tuple(
        t for t, (_, e) in sorted(state.items(), key=lambda kv: kv[1][0]) if e == "request"
    )
    exclude = tuple(t for t in TASKS if t in state and state[t][1] == "exclude")
    if "upscale" in tasks:
        scale = scale or 2
    else:
        scale = None
    if anaphoric_auto and not tasks:
        auto = True  # "fix it" with nothing named before: a general fix
    if exclude and not tasks and not assess and not unsupported:
        auto = True  # "just keep the grain": fix the rest
    look = "faithful" if "faithful" in looks or "detailed" not in looks else "detailed"
    if look == "detailed" and not tasks and not assess:
        auto = True  # "make it look more realistic": fix what is found, with detail
    understood = understood or bool(tasks or exclude or auto or assess)
    if not understood and not unsupported:
        unsupported = [text.strip()]
    strength = find_strength(corrected)
    if light_from_partial and strength == "normal":
        strength = "light"
    return Intent(
        tasks=tasks,
        exclude=exclude,
        auto=auto,
        scale=scale,
        strength=strength,
        text=text,
        unsupported=tuple(unsupported),
        look=look,
    )


def require_actionable(intent: Intent) -> Intent:
    """Raise :class:`UnsupportedInstructionError` when ``intent`` asks for nothing restora can do
    (no task, no general fix, and something unsupported or not understood); else return it."""
    if intent.unsupported and not intent.tasks and not intent.auto and not intent.exclude:
        asked = "; ".join(intent.unsupported)
        raise UnsupportedInstructionError(f"cannot do {asked!r}: {CAPABILITIES}")
    return intent
