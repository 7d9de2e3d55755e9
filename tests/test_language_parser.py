"""The embedded instruction parser (lexicon path: no model is loaded in this file)."""

from __future__ import annotations

import json

import pytest

from restora.cli import main
from restora.errors import RestoraError
from restora.language.parser import (
    InstructionError,
    UnsupportedInstructionError,
    correct_typos,
    find_scale,
    find_strength,
    normalise_text,
    parse_instruction,
    require_actionable,
    split_clauses,
)
from restora.vocabulary import STRENGTHS, TASKS


def parse(text: str):
    return parse_instruction(text, use_semantic=False)


def test_contract_shape() -> None:
    out = parse("it's dark and grainy, brighten it but keep the grain").to_dict()
    for key in ("tasks", "exclude", "auto", "scale", "strength"):
        assert key in out
    assert out["tasks"] == ["brighten"] and out["exclude"] == ["denoise"]
    assert out["auto"] is False and out["scale"] is None and out["strength"] in STRENGTHS
    assert set(out["tasks"]) <= set(TASKS)
    json.dumps(out)  # serialisable


@pytest.mark.parametrize(
    ("text", "tasks"),
    [
        ("denoise then sharpen", ["denoise", "deblur"]),
        ("sharpen then denoise", ["deblur", "denoise"]),
        ("remove the rain, then the haze, then brighten", ["derain", "dehaze", "brighten"]),
        ("sharpen it after you remove the noise", ["denoise", "deblur"]),
        ("fix the jpeg blocks and enlarge it", ["dejpeg", "upscale"]),
        ("low light, noise, blur", ["brighten", "denoise", "deblur"]),
    ],
)
def test_tasks_in_the_order_asked(text: str, tasks: list[str]) -> None:
    assert list(parse(text).tasks) == tasks


@pytest.mark.parametrize(
    ("text", "tasks", "exclude"),
    [
        ("brighten it but don't touch the noise", ["brighten"], ["denoise"]),
        ("remove the blur without losing the film grain", ["deblur"], ["denoise"]),
        ("denoise but don't sharpen or upscale", ["denoise"], ["deblur", "upscale"]),
        ("keep the grain and the blur, just brighten it", ["brighten"], ["denoise", "deblur"]),
        ("the grain is intentional, just fix the exposure", ["brighten"], ["denoise"]),
        ("increase the brightness but not the noise", ["brighten"], ["denoise"]),
        ("no noise please", ["denoise"], []),  # absence of a problem asks for its removal
        ("I don't want any grain in it", ["denoise"], []),
        ("no sharpening, just remove the rain", ["derain"], ["deblur"]),
        ("it isn't sharp enough", ["deblur"], []),
        ("sharpen without adding noise", ["deblur"], []),
    ],
)
def test_negation_scope(text: str, tasks: list[str], exclude: list[str]) -> None:
    intent = parse(text)
    assert list(intent.tasks) == tasks
    assert sorted(intent.exclude) == sorted(exclude)


def test_exclusion_only_means_fix_the_rest() -> None:
    intent = parse("enhance everything except the noise")
    assert intent.auto and intent.tasks == () and intent.exclude == ("denoise",)
    assert parse("don't upscale").auto


@pytest.mark.parametrize(
    ("text", "scale"),
    [
        ("upscale 4x", 4),
        ("x4 upscale please", 4),
        ("make it 4 times larger", 4),
        ("make it twice as large", 2),
        ("quadruple the resolution", 4),
        ("triple the size", 3),
        ("upscale by a factor of three", 3),
        ("make it 200% bigger", 2),
        ("upscale it", 2),  # no factor: the documented default
        ("8x upscale", 4),  # clamped to what the experts support
        ("upscale to 1920x1080", 2),  # a resolution, not a factor
        ("sharpen it", None),
    ],
)
def test_scale(text: str, scale: int | None) -> None:
    intent = parse(text)
    assert intent.scale == scale
    assert ("upscale" in intent.tasks) == (scale is not None)


def test_scale_factor_alone_asks_for_upscale() -> None:
    assert parse("2x").tasks == ("upscale",)
    assert find_scale("nothing here") == (None, None)


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("slightly sharpen it", "light"),
        ("brighten it a little bit", "light"),
        ("nothing too aggressive, just tidy up the noise", "light"),
        ("remove the noise aggressively", "strong"),
        ("it's extremely blurry", "strong"),
        ("denoise", "normal"),
        ("it was shot in low light", "normal"),  # a lighting word, not an intensity
    ],
)
def test_strength(text: str, strength: str) -> None:
    assert parse(text).strength == strength
    assert find_strength(normalise_text(text)) == strength


@pytest.mark.parametrize(
    ("text", "tasks"),
    [
        ("remoev the nosie", ["denoise"]),
        ("brigthen and dnoise", ["brighten", "denoise"]),
        ("shapren it", ["deblur"]),
        ("get rid of the reflecton", ["dereflect"]),
        ("upsacle by a factor of three", ["upscale"]),
    ],
)
def test_typos(text: str, tasks: list[str]) -> None:
    assert list(parse(text).tasks) == tasks


def test_typo_correction_leaves_real_words_alone() -> None:
    fixed, fixes = correct_typos("the blue sky and the nosie")
    assert fixed == "the blue sky and the noise" and fixes == {"nosie": "noise"}


def test_clause_splitting_keeps_negating_words() -> None:
    clauses = split_clauses(normalise_text("Remove the blur without losing the grain; then 2x."))
    assert [c.text for c in clauses] == ["remove the blur", "without losing the grain", "2x"]
    assert clauses[1].connector == "without"


def test_general_fix_and_no_change() -> None:
    assert parse("make it look better").auto
    assert parse("fix it").auto
    for text in ("just tell me the quality", "rate this photo, don't change anything"):
        intent = parse(text)
        assert intent.tasks == () and not intent.auto and not intent.unsupported
    # "fix it" after named problems refers to them, not to everything
    assert not parse("heavily compressed jpeg, fix it").auto


@pytest.mark.parametrize(
    "text", ["add a cat", "make it black and white", "make it darker", "blur the background"]
)
def test_unsupported(text: str) -> None:
    intent = parse(text)
    assert intent.tasks == () and not intent.auto and intent.unsupported
    with pytest.raises(UnsupportedInstructionError, match="restora can denoise"):
        require_actionable(intent)


def test_partly_unsupported_keeps_the_doable_part() -> None:
    intent = parse("denoise it and add a cat")
    assert intent.tasks == ("denoise",) and intent.unsupported == ("add a cat",)
    assert require_actionable(intent) is intent


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_instruction(text: str) -> None:
    with pytest.raises(InstructionError, match="empty"):
        parse(text)
    assert issubclass(InstructionError, RestoraError)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESTORA_LLM_URL", raising=False)
    code, out, _ = run_cli(capsys, "parse", "denoise and upscale x3, slightly", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["tasks"] == ["denoise", "upscale"] and payload["scale"] == 3
    assert payload["strength"] == "light" and payload["exclude"] == [] and not payload["auto"]


def test_cli_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "parse", "brighten it but keep the grain", "--embedded")
    assert code == 0 and "brighten" in out and "without denoising" in out


@pytest.mark.parametrize("text", ["add a cat", ""])
def test_cli_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], text: str) -> None:
    code, out, err = run_cli(capsys, "parse", text, "--json", "--embedded")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "restora can denoise" in err


def test_cli_no_change_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "parse", "just tell me the quality", "--json", "--embedded")
    assert code == 0 and json.loads(out)["tasks"] == [] and json.loads(out)["auto"] is False


def test_evaluation_sets_are_valid() -> None:
    from restora.bench.language import load_split
    from restora.types import Intent

    splits = {name: load_split(name) for name in ("dev", "test", "unlisted")}
    assert len(splits["dev"]) + len(splits["test"]) >= 150
    texts = [row["text"] for rows in splits.values() for row in rows]
    assert len(texts) == len(set(texts))  # no instruction in two splits
    for rows in splits.values():
        for row in rows:
            Intent(tuple(row["tasks"]), tuple(row["exclude"]), row["auto"], row["scale"],
                   row["strength"])  # fmt: skip


def test_lazy_public_api() -> None:
    import restora.language as language

    assert callable(language.describe) and callable(language.require_actionable)
    with pytest.raises(AttributeError):
        _ = language.no_such_name
