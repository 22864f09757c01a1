"""Pure parts of retrieval: how uses rank a name, how candidates are packed into the budget, buffer analysis."""

from __future__ import annotations

import pytest

from hoody_lsp.context.retrieval import (
    Candidate,
    _trim_overlap,
    analyze,
    line_tokens,
    pack,
    usage_score,
    window_candidate,
)
from tests.context.conftest import cursor

# ---------------------------------------------------------------------------------------------------
# ranking of names the buffer binds
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uses", "cl", "low", "high"),
    [
        ([50], 50, 1.0, 1.0),  # on the cursor line
        ([48], 50, 0.97, 0.99),  # two lines above
        ([52], 50, 0.97, 0.99),  # two lines below
        ([], 50, 0.9, 0.9),  # imported, not used yet: the next line may need it
        ([80], 50, 0.9, 0.97),  # not used yet above, used later below
        ([10], 50, 0.5, 0.7),  # used far above
        ([45], 50, 0.7, 0.8),  # used a little above
    ],
)
def test_usage_score(uses: list[int], cl: int, low: float, high: float) -> None:
    assert low <= usage_score(uses, cl) <= high


def test_usage_score_order() -> None:
    cl = 100
    at_cursor = usage_score([100], cl)
    unused = usage_score([], cl)
    later = usage_score([130], cl)
    far_above = usage_score([3], cl)
    near_above = usage_score([90], cl)
    assert at_cursor > later > unused > near_above > far_above


# ---------------------------------------------------------------------------------------------------
# packing
# ---------------------------------------------------------------------------------------------------

FILES = {
    "a.py": [f"line a{i:03d}" for i in range(1, 41)],  # each line 9 chars + newline = 10
    "b.py": [f"line b{i:03d}" for i in range(1, 41)],
    "R.md": ["rule one", "rule two"],
}


def lines_of(rel: str) -> list[str] | None:
    return FILES.get(rel)


def cand(rel: str, s: int, e: int, score: float, kind: str = "definition", **kw: object) -> Candidate:
    return Candidate(rel, s, e, kind, kw.pop("source", "imports"), score, **kw)  # type: ignore[arg-type]


def spans(packed: list) -> list[tuple[str, int, int]]:
    return [(p.cand.rel, p.start, p.end) for p in packed]


PACK_CASES = [
    # (candidates, budget, expected spans in prompt order)
    ([cand("a.py", 1, 2, 0.5), cand("b.py", 1, 1, 0.9)], 1000, [("b.py", 1, 1), ("a.py", 1, 2)]),
    # the budget counts characters with newlines: 30 chars hold three lines
    ([cand("a.py", 1, 3, 0.9), cand("b.py", 1, 1, 0.5)], 30, [("a.py", 1, 3)]),
    # a header that does not fit is skipped, a smaller one after it still goes in
    ([cand("a.py", 1, 5, 0.9), cand("b.py", 1, 2, 0.5)], 30, [("b.py", 1, 2)]),
    # duplicates and overlaps: the same lines never twice
    ([cand("a.py", 1, 3, 0.9), cand("a.py", 1, 3, 0.8), cand("a.py", 2, 5, 0.7, name_line=5)], 1000,
     [("a.py", 1, 3), ("a.py", 4, 5)]),
    ([cand("a.py", 5, 9, 0.9), cand("a.py", 1, 12, 0.8, name_line=7)], 1000, [("a.py", 5, 9)]),
    # rules come first whatever their score, and are cut to fit
    ([cand("a.py", 1, 1, 0.9), cand("R.md", 1, 2, 0.1, kind="rules", source="rules")], 15,
     [("R.md", 1, 1)]),
    # an open-file window is cut to the room left
    ([cand("a.py", 1, 1, 0.9), cand("b.py", 1, 10, 0.3, kind="open_file", source="open_buffer")], 45,
     [("a.py", 1, 1), ("b.py", 1, 3)]),
    # unknown files and empty ranges are dropped
    ([cand("zzz.py", 1, 2, 0.9), cand("a.py", 9, 3, 0.8)], 1000, []),
]  # fmt: skip


@pytest.mark.parametrize(("cands", "budget", "expected"), PACK_CASES)
def test_pack(cands: list[Candidate], budget: int, expected: list[tuple[str, int, int]]) -> None:
    packed = pack(cands, budget, lines_of, grow_threshold=2.0)
    assert spans(packed) == expected
    used = sum(len(x) + 1 for p in packed for x in p.lines)
    assert used <= budget


def test_pack_grows_confident_definitions_into_their_body() -> None:
    c = cand("a.py", 3, 3, 0.99, name_line=3, full_end=30)
    packed = pack([c, cand("b.py", 1, 1, 0.5)], 100, lines_of)
    assert spans(packed) == [("a.py", 3, 11), ("b.py", 1, 1)]  # 10 chars for b, 90 for a (9 lines)
    assert sum(len(x) + 1 for p in packed for x in p.lines) <= 100
    # a body never runs into another snippet's lines
    packed = pack([c, cand("a.py", 6, 6, 0.5)], 1000, lines_of)
    assert spans(packed) == [("a.py", 3, 5), ("a.py", 6, 6)]


def test_pack_uses_indexed_text_without_reading() -> None:
    read: list[str] = []

    def tracking(rel: str) -> list[str] | None:
        read.append(rel)
        return FILES.get(rel)

    c = cand("a.py", 2, 2, 0.9, text="line a002")
    packed = pack([c] + [cand("b.py", i, i, 0.1, text=f"line b{i:03d}") for i in range(1, 40)], 50, tracking)
    assert spans(packed)[0] == ("a.py", 2, 2) and len(packed) == 5
    assert read == []


@pytest.mark.parametrize(
    ("spans_", "s", "e", "keep", "expected"),
    [
        ([], 1, 5, 0, (1, 5)),
        ([(1, 5)], 2, 4, 0, (1, 0)),  # covered
        ([(1, 3)], 2, 6, 5, (4, 6)),  # head cut
        ([(5, 9)], 2, 7, 3, (2, 4)),  # tail cut
        ([(3, 4)], 1, 8, 3, (1, 0)),  # the line to keep is taken
        ([(4, 5)], 1, 9, 2, (1, 3)),  # a hole: keep the side with the name line
        ([(4, 5)], 1, 9, 8, (6, 9)),
    ],
)
def test_trim_overlap(spans_: list[tuple[int, int]], s: int, e: int, keep: int, expected: tuple[int, int]) -> None:
    assert _trim_overlap(spans_, s, e, keep) == expected


# ---------------------------------------------------------------------------------------------------
# windows of open files
# ---------------------------------------------------------------------------------------------------


def test_window_candidate_finds_the_matching_region() -> None:
    lines = ["x = 1"] * 50 + ["def parse_header(stream, limit):", "    header = stream.read(limit)"] + ["y = 2"] * 50
    c = window_candidate("f.py", line_tokens(lines), {"parse_header", "stream", "limit", "header"}, window=8)
    assert c is not None and c.start <= 51 <= c.end and c.kind == "open_file"
    assert window_candidate("f.py", line_tokens(["a b c"] * 10), {"zzz"}) is None


# ---------------------------------------------------------------------------------------------------
# the buffer
# ---------------------------------------------------------------------------------------------------


def test_analyze_python_buffer() -> None:
    text, offset = cursor(
        "import os\nfrom .util import clamp, LIMIT\nfrom . import helpers\n\n"
        "def run(value):\n    total = helpers.compute(value)\n    result = clam‸\n    return LIMIT\n"
    )
    buf = analyze(text, offset, "python", "pkg/mod.py")
    assert buf.cursor_line == 6 and buf.typed == "clam"
    assert {i.local for i in buf.imports} == {"os", "clamp", "LIMIT", "helpers"}
    assert buf.import_lines == {0, 1, 2}
    assert buf.occ["LIMIT"] == [7]
    assert "clamp" not in buf.occ  # the word being typed is not a use yet
    assert buf.attrs[("helpers", "compute")] == [5]
    assert {"run", "total", "result", "value"} <= buf.local
    assert "clam" in buf.query and "total" in buf.query


def test_analyze_finds_uses_far_from_the_cursor() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(500))
    head = "from .m import early, late, never\nfrom . import mod\n\ndef f():\n    early()\n    mod.first()\n"
    text = f"{head}{body}\n    ‸\n{body}\n    late()\n"
    text, offset = cursor(text)
    buf = analyze(text, offset, "python")
    assert buf.uses("early") == [4]
    assert buf.uses("late") and buf.uses("late")[0] > buf.cursor_line
    assert buf.uses("never") == []
    assert buf.chains("mod") == {"first": [5]}
    assert "early" not in buf.occ  # outside the lines scanned for every name


def test_analyze_binds_parameters_of_definitions_that_span_lines() -> None:
    text = "def handle(\n    request,\n    *,\n    retries: int = 3,\n):\n    let_me = 1\n    return req"
    buf = analyze(text, len(text), "python", "a.py")
    assert {"request", "retries", "let_me"} <= buf.local
    js = "function build(\n  options,\n  done\n) {\n  const total = 0\n  for (let i of xs) {}\n  re"
    buf = analyze(js, len(js), "javascript", "a.js")
    assert {"options", "done", "total", "i"} <= buf.local
    assert "undef" not in analyze("undef(x)\nfoo", 12, "python", "a.py").local


def test_indexed_snippets_never_overlap_in_any_order() -> None:
    """Index-held headers are checked against the kept spans of their file, wherever those spans lie."""
    cands = [
        Candidate("m.py", 10, 12, "definition", "imports", 0.99, "a", 10, text="a\nb\nc"),
        Candidate("m.py", 1, 3, "definition", "imports", 0.98, "b", 1, text="d\ne\nf"),
        Candidate("m.py", 3, 4, "definition", "imports", 0.97, "c", 3, text="g\nh"),  # overlaps 1-3
        Candidate("m.py", 12, 14, "definition", "imports", 0.96, "d", 12, text="i\nj\nk"),  # overlaps 10-12
        Candidate("m.py", 5, 9, "definition", "imports", 0.95, "e", 5, text="l\nm\nn\no\np"),  # fits between
    ]
    got = [(p.start, p.end) for p in pack(cands, 10_000, lambda rel: None)]
    assert got == [(10, 12), (1, 3), (5, 9)]
