"""DocumentStore and Snapshot: LSP line semantics and the three position encodings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoody_lsp.documents import DocumentStore, Snapshot, eol_of, line_starts
from tests.e2e.harness import to_offset, to_position


def snap(text: str, encoding: str = "utf-16") -> Snapshot:
    return Snapshot("file:///x.py", "python", 1, text, encoding)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("", [0]),
        ("a\nb", [0, 2]),
        ("a\r\nb\rc\n", [0, 3, 5, 7]),
        ("a\u2028b\x0cc", [0]),  # only \n, \r\n and \r end lines in LSP
    ],
)
def test_line_starts(text: str, starts: list[int]) -> None:
    assert line_starts(text) == starts


@pytest.mark.parametrize(
    ("text", "line", "char", "encoding", "offset"),
    [
        ("x = '😋'\n", 0, 7, "utf-16", 6),  # the emoji is 2 UTF-16 units
        ("x = '😋'\n", 0, 9, "utf-8", 6),  # and 4 UTF-8 units
        ("x = '😋'\n", 0, 6, "utf-32", 6),
        ("x = '😋'\n", 0, 6, "utf-16", 5),  # inside the surrogate pair: snaps to the character's start
        ("日本語\nb", 0, 3, "utf-16", 3),
        ("日本語\nb", 0, 9, "utf-8", 3),
        ("e\u0301x", 0, 2, "utf-16", 2),  # combining mark is its own code point
        ("ab\r\ncd", 0, 99, "utf-16", 2),  # past the end of the line: end of the line, before \r\n
        ("ab\r\ncd", 1, 1, "utf-16", 5),
        ("ab\r\ncd", 7, 0, "utf-16", 6),  # past the last line: end of the document
        ("abc", 0, 99, "utf-8", 3),
        ("", 0, 0, "utf-16", 0),
    ],
)
def test_offset_at(text: str, line: int, char: int, encoding: str, offset: int) -> None:
    assert snap(text, encoding).offset_at(line, char) == offset


def test_position_at_round_trip_and_eol() -> None:
    s = snap("a😋\r\nb", "utf-16")
    assert s.position_at(2) == (0, 3)
    assert s.position_at(3) == (0, 3)  # between \r and \n: end of that line
    assert s.position_at(4) == (1, 0)
    assert s.eol == "\r\n"
    assert eol_of("x") == "\n"


def test_store_applies_incremental_and_full_changes() -> None:
    store = DocumentStore("utf-16")
    store.open("u", "python", 1, "hello\nworld\n")
    result = store.change("u", 2, [((1, 0, 1, 5), "there"), ((0, 5, 0, 5), ",")])
    assert result is not None
    new, spans = result
    assert new.text == "hello,\nthere\n"
    assert new.version == 2
    assert spans == [(6, 11, 5), (5, 5, 1)]
    result = store.change("u", 3, [(None, "x")])
    assert result is not None and result[0].text == "x"
    assert store.change("missing", 1, [(None, "x")]) is None


_CHARS = st.sampled_from([*"ab \t\n\r", "\r\n", "😋", "日", "e\u0301", "\u2028"])
_TEXT = st.lists(_CHARS, max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    text=_TEXT,
    edits=st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 12), st.integers(0, 6), st.integers(0, 12), _TEXT),
        max_size=6,
    ),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]),
)
def test_incremental_changes_match_an_independent_model(
    text: str, edits: list[tuple[int, int, int, int, str]], encoding: str
) -> None:
    store = DocumentStore(encoding)  # type: ignore[arg-type]
    store.open("u", "python", 1, text)
    reference = text
    for version, (l0, c0, l1, c1, new) in enumerate(edits, start=2):
        a = to_offset(reference, l0, c0, encoding)
        b = to_offset(reference, l1, c1, encoding)
        a, b = min(a, b), max(a, b)
        reference = reference[:a] + new + reference[b:]
        result = store.change("u", version, [((l0, c0, l1, c1), new)])
        assert result is not None
        assert result[0].text == reference
    final = store.get("u")
    assert final is not None
    for offset in range(len(reference) + 1):
        if 0 < offset < len(reference) and reference[offset - 1] == "\r" and reference[offset] == "\n":
            continue
        line, char = final.position_at(offset)
        assert to_position(reference, offset, encoding) == type(to_position(reference, 0, encoding))(
            line=line, character=char
        )
        assert final.offset_at(line, char) == offset


_LF_TEXT = st.lists(st.sampled_from(["a", "é", "😀", "\n", " ", "\n\n"]), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    text=_LF_TEXT,
    batches=st.lists(
        st.lists(
            st.tuples(st.integers(0, 6), st.integers(0, 12), st.integers(0, 6), st.integers(0, 12), _LF_TEXT),
            min_size=1,
            max_size=3,
        ),
        max_size=5,
    ),
)
def test_line_starts_follow_edits_without_a_recount(
    text: str, batches: list[list[tuple[int, int, int, int, str]]]
) -> None:
    """Line starts are updated from the edit, not recounted: they must equal a recount after every batch."""
    store = DocumentStore("utf-16")
    store.open("u", "python", 1, text)
    for version, batch in enumerate(batches, start=2):
        result = store.change("u", version, [((l0, c0, l1, c1), new) for l0, c0, l1, c1, new in batch])
        assert result is not None
        assert result[0]._line_starts() == line_starts(result[0].text)
        assert result[0].version == version


def test_a_carriage_return_typed_into_a_document_recounts_its_lines() -> None:
    store = DocumentStore("utf-16")
    store.open("u", "python", 1, "a\nb")
    result = store.change("u", 2, [((0, 1, 0, 1), "\r")])  # "a\r\nb": the break is now "\r\n"
    assert result is not None
    assert result[0].text == "a\r\nb"
    assert result[0]._line_starts() == [0, 3]
    result = store.change("u", 3, [((1, 0, 1, 0), "\r")])  # "a\r\n\rb": two breaks
    assert result is not None
    assert result[0]._line_starts() == [0, 3, 4]
