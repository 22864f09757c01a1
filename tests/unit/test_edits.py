"""Minimal edits and position conversions: table tests plus properties over random text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoody_lsp.edits import (
    Edit,
    LineIndex,
    apply_edits,
    line_col_to_offset,
    line_starts,
    minimal_edits,
    offset_to_line_col,
    split_lines,
)

# Pieces that exercise every line break, emoji (one code point, two UTF-16 units) and repeated lines.
PIECES = ["a", "b", "x", " ", "\t", "\n", "\r\n", "\r", "😀", "é", "}", "def f():\n", "    return 1\r\n"]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@st.composite
def related_texts(draw: st.DrawFn) -> tuple[str, str]:
    """An original and an edited copy sharing most of its lines (the usual case for generated code)."""
    lines = draw(st.lists(st.sampled_from(["a\n", "b\r\n", "c", "😀\n", "\n", "x = 1\n", "\r"]), max_size=15))
    new = list(lines)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        i = draw(st.integers(0, len(new)))
        piece = draw(st.sampled_from(["z\n", "a\n", "😀😀", "\r\n", "q"]))
        if op == "insert":
            new.insert(i, piece)
        elif new and i < len(new):
            if op == "delete":
                del new[i]
            else:
                new[i] = piece
    return "".join(lines), "".join(new)


def _check(original: str, new: str) -> list[Edit]:
    edits = minimal_edits(original, new)
    assert apply_edits(original, edits) == new
    previous_end = -1
    for edit in edits:
        assert 0 <= edit.start <= edit.end <= len(original)
        assert edit.start > previous_end or (edit.start == previous_end and previous_end == -1)
        assert edit.start != edit.end or edit.text, "an edit that does nothing"
        # Never between "\r" and "\n": LSP cannot express that position.
        for offset in (edit.start, edit.end):
            assert not (0 < offset < len(original) and original[offset - 1 : offset + 1] == "\r\n")
        previous_end = edit.end
    return edits


@given(texts, texts)
@settings(max_examples=100, deadline=None)
def test_minimal_edits_turn_original_into_new(original: str, new: str) -> None:
    _check(original, new)


@given(related_texts())
@settings(max_examples=100, deadline=None)
def test_related_texts(pair: tuple[str, str]) -> None:
    original, new = pair
    _check(original, new)


# No line ending in a lone "\r" here: followed by a "\n" line the two would merge into one "\r\n" break.
LINES = ["a\n", "b\r\n", "😀\n", "\n", "x = 1\n", "    return 1\r\n", "}\n"]


@given(
    st.lists(st.sampled_from(LINES), max_size=20),
    st.integers(0, 20),
    st.sampled_from([*LINES, "new line\n", "😀😀\r\n"]),
    st.sampled_from(["insert", "delete", "replace"]),
)
@settings(max_examples=100, deadline=None)
def test_one_changed_line_costs_at_most_that_line(lines: list[str], i: int, piece: str, op: str) -> None:
    """Unchanged lines are never rewritten: changing one line replaces at most that line's characters."""
    i = min(i, len(lines))
    new = list(lines)
    if op == "insert":
        new.insert(i, piece)
        old_piece = ""
    elif i < len(lines):
        old_piece = new.pop(i)
        if op == "replace":
            new.insert(i, piece)
        else:
            piece = ""
    else:
        return
    edits = _check("".join(lines), "".join(new))
    assert sum(e.end - e.start for e in edits) <= len(old_piece)
    assert sum(len(e.text) for e in edits) <= len(piece)


@given(texts)
@settings(max_examples=50)
def test_identical_texts_give_no_edits(text: str) -> None:
    assert minimal_edits(text, text) == []


@pytest.mark.parametrize(
    ("original", "new", "expected"),
    [
        ("", "x", [Edit(0, 0, "x")]),
        ("x", "", [Edit(0, 1, "")]),
        ("a\nb\nc\n", "a\nB\nc\n", [Edit(2, 3, "B")]),
        # one word in one line of many: one small edit, the other lines untouched
        (
            "def f():\n    return old_name\n\nx = 1\n",
            "def f():\n    return new_name\n\nx = 1\n",
            [Edit(20, 23, "new")],
        ),
        # a line inserted between unchanged lines
        ("a\nc\n", "a\nb\nc\n", [Edit(2, 2, "b\n")]),
        # a line deleted
        ("a\nb\nc\n", "a\nc\n", [Edit(2, 4, "")]),
        # the last line gains a line break / a new last line
        ("a", "a\nb", [Edit(1, 1, "\nb")]),
        # CRLF -> LF: the edit takes the whole "\r\n", never half of it
        ("a\r\nb", "a\nb", [Edit(1, 3, "\n")]),
        ("a\nb", "a\r\nb", [Edit(1, 1, "\r")]),  # "\r" inserted before "\n": no half break touched
        # emoji are one code point each
        ("😀\r\n", "😀x\r\n", [Edit(1, 1, "x")]),
        ("x😀y\n", "x😁y\n", [Edit(1, 2, "😁")]),
        # two separate changes, separate edits in ascending order
        ("a\nb\nc\nd\n", "A\nb\nc\nD\n", [Edit(0, 1, "A"), Edit(6, 7, "D")]),
    ],
)
def test_minimal_edits_table(original: str, new: str, expected: list[Edit]) -> None:
    assert _check(original, new) == expected


def test_repeated_lines_are_matched_not_rewritten() -> None:
    original = "}\n}\n}\nx\n}\n}\n"
    new = "}\n}\n}\ny\n}\n}\n"
    assert minimal_edits(original, new) == [Edit(6, 7, "y")]


def test_large_text_single_change_is_small_and_fast() -> None:
    lines = [f"line {i} = value_{i}\n" for i in range(20_000)]
    original = "".join(lines)
    lines[12_345] = "line 12345 = changed\n"
    edits = _check(original, "".join(lines))
    assert len(edits) == 1
    assert edits[0].end - edits[0].start == len("value_12345")


def test_apply_edits_rejects_overlaps_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        apply_edits("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])
    with pytest.raises(ValueError):
        apply_edits("abc", [Edit(2, 9, "")])


def test_apply_edits_order_and_same_position_inserts() -> None:
    # Edits may come in any order; insertions at one offset keep their list order (LSP semantics).
    assert apply_edits("abc", [Edit(2, 3, "C"), Edit(0, 1, "A")]) == "AbC"
    assert apply_edits("ab", [Edit(1, 1, "1"), Edit(1, 1, "2")]) == "a12b"


@pytest.mark.parametrize(
    ("text", "offset", "position"),
    [
        ("", 0, (0, 0)),
        ("abc", 3, (0, 3)),
        ("a\nb", 2, (1, 0)),
        ("a\r\nb", 3, (1, 0)),
        ("a\r\nb", 1, (0, 1)),
        ("a\r\nb", 2, (0, 1)),  # between "\r" and "\n": the end of line 0
        ("a\rb", 2, (1, 0)),  # a lone "\r" ends a line
        ("😀a\n😀", 4, (1, 1)),  # code points, not UTF-16 units
        ("a\n", 2, (1, 0)),  # after a final line break: the empty last line
    ],
)
def test_offset_to_line_col(text: str, offset: int, position: tuple[int, int]) -> None:
    assert offset_to_line_col(text, offset) == position


@pytest.mark.parametrize(
    ("text", "line", "col", "offset"),
    [
        ("a\r\nb", 1, 0, 3),
        ("a\r\nb", 0, 99, 1),  # past the line's end: the line's end, before its break
        ("a\r\nb", 7, 0, 4),  # past the last line: the end of the text
        ("😀😀\nx", 0, 2, 2),
        ("a\rb\nc", 2, 1, 5),
    ],
)
def test_line_col_to_offset(text: str, line: int, col: int, offset: int) -> None:
    assert line_col_to_offset(text, line, col) == offset


def test_positions_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        offset_to_line_col("abc", 4)
    with pytest.raises(ValueError):
        line_col_to_offset("abc", -1, 0)


@given(texts)
@settings(max_examples=60)
def test_positions_round_trip(text: str) -> None:
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        line, col = index.offset_to_line_col(offset)
        if 0 < offset < len(text) and text[offset - 1 : offset + 1] == "\r\n":
            assert index.line_col_to_offset(line, col) == offset - 1
        else:
            assert index.line_col_to_offset(line, col) == offset


@given(texts)
@settings(max_examples=60)
def test_split_lines_rejoins_and_matches_line_starts(text: str) -> None:
    lines = split_lines(text)
    assert "".join(lines) == text
    assert all(line for line in lines)
    starts = line_starts(text)
    # One more start than lines when the text ends with a break (or is empty).
    assert len(starts) == len(lines) + (1 if not text or text.endswith(("\n", "\r")) else 0)
