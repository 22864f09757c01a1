"""Live-edit regions: mapping through user changes, streaming edits, restoring the original."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoody_lsp.actions.region import LiveRegion, Region, complete_lines, map_through_change
from hoody_lsp.edits import Edit, apply_edits


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # entirely before: shifted by the change's length difference
        ((0, 2, 5), Region(13, 23)),
        ((0, 0, 1), Region(11, 21)),
        ((2, 10, 0), Region(2, 12)),  # a deletion ending exactly at the start
        ((10, 10, 3), Region(13, 23)),  # an insertion exactly at the start: outside (typing right before)
        # entirely after: unchanged
        ((20, 20, 4), Region(10, 20)),  # an insertion exactly at the end: outside (typing right after)
        ((20, 25, 0), Region(10, 20)),
        ((30, 31, 9), Region(10, 20)),
        # touching the inside
        ((15, 15, 1), None),  # typing inside
        ((9, 11, 0), None),  # a deletion across the start
        ((19, 21, 2), None),  # a replacement across the end
        ((10, 20, 10), None),  # the whole region replaced
        ((0, 30, 0), None),  # everything deleted
    ],
)
def test_map_through_change(change: tuple[int, int, int], expected: Region | None) -> None:
    assert map_through_change(Region(10, 20), *change) == expected


def test_empty_region_boundaries() -> None:
    # An insertion at an empty region's offset counts as before it.
    assert map_through_change(Region(5, 5), 5, 5, 2) == Region(7, 7)
    assert map_through_change(Region(5, 5), 6, 7, 0) == Region(5, 5)
    assert map_through_change(Region(5, 5), 4, 6, 0) is None


def test_bad_change_is_rejected() -> None:
    with pytest.raises(ValueError):
        map_through_change(Region(0, 1), 3, 2, 0)


@given(
    st.text(alphabet="ab\r\n😀 ", max_size=30),
    st.data(),
)
@settings(max_examples=100, deadline=None)
def test_mapping_keeps_the_region_text(doc: str, data: st.DataObject) -> None:
    """After any change outside the region, the mapped region holds the same text; inside: None."""
    start = data.draw(st.integers(0, len(doc)))
    end = data.draw(st.integers(start, len(doc)))
    change_start = data.draw(st.integers(0, len(doc)))
    change_end = data.draw(st.integers(change_start, len(doc)))
    inserted = data.draw(st.text(alphabet="xy😀\n", max_size=5))
    new_doc = doc[:change_start] + inserted + doc[change_end:]
    mapped = map_through_change(Region(start, end), change_start, change_end, len(inserted))
    outside = change_end <= start or change_start >= end
    if outside:
        assert mapped is not None
        assert new_doc[mapped.start : mapped.end] == doc[start:end]
    else:
        assert mapped is None


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("", ""),
        ("abc", ""),
        ("a\nb", "a\n"),
        ("a\r\nb", "a\r\n"),
        ("a\r", ""),  # maybe the first half of "\r\n"
        ("a\nb\r", "a\n"),
        ("a\r\rb", "a\r\r"),
        ("😀\n😀", "😀\n"),
    ],
)
def test_complete_lines(text: str, complete: str) -> None:
    assert complete_lines(text) == complete


BEFORE = "# 😀 header\r\ndef f():\r\n"
ORIGINAL = "    return 1\r\n"
AFTER = "\r\nprint(f())\r\n"


def test_streaming_into_a_crlf_document_with_emoji_and_restoring() -> None:
    doc = BEFORE + ORIGINAL + AFTER
    live = LiveRegion(len(BEFORE), ORIGINAL)
    steps = ["    x = 1\r\n", "    x = 1\r\n    y = 😀\r\n", "    x = 1\r\n    y = 😀\r\n    return x\r\n"]
    for generated in steps:
        edits = live.advance(generated)
        doc = apply_edits(doc, edits)
        assert live.confirm(doc)
        assert doc == BEFORE + generated + AFTER
        assert live.region == Region(len(BEFORE), len(BEFORE) + len(generated))
    # Unchanged lines are not rewritten between steps: the last step only appends a line.
    assert live.edits_to(steps[-1]) == []
    doc = apply_edits(doc, live.restore_edits())
    assert doc == BEFORE + ORIGINAL + AFTER


def test_each_step_is_a_minimal_edit() -> None:
    live = LiveRegion(3, "old\n")
    assert live.advance("old\nnew\n") == [Edit(7, 7, "new\n")]
    assert live.advance("old\nnewer\n") == [Edit(10, 10, "er")]


def test_user_typing_before_and_after_the_region_is_allowed() -> None:
    doc = BEFORE + ORIGINAL + AFTER
    live = LiveRegion(len(BEFORE), ORIGINAL)
    doc = apply_edits(doc, live.advance("    a = 1\r\n"))
    assert live.confirm(doc)
    # The user types at the top of the file and right after the region.
    assert live.map_change(0, 0, 3)
    doc = "abc" + doc
    region = live.region
    assert region is not None
    assert live.map_change(region.end, region.end, 2)
    doc = doc[: region.end] + "zz" + doc[region.end :]
    # The next step lands in the right place.
    doc = apply_edits(doc, live.advance("    a = 1\r\n    b = 2\r\n"))
    assert live.confirm(doc)
    assert doc == "abc" + BEFORE + "    a = 1\r\n    b = 2\r\n" + "zz" + AFTER
    doc = apply_edits(doc, live.restore_edits())
    assert doc == "abc" + BEFORE + ORIGINAL + "zz" + AFTER


def test_user_typing_inside_breaks_the_region() -> None:
    live = LiveRegion(10, "0123456789")
    assert not live.map_change(12, 12, 1)
    assert live.broken
    assert not live.map_change(0, 0, 1)
    with pytest.raises(RuntimeError):
        live.advance("x")


def test_our_own_edits_coming_back_as_changes_while_pending() -> None:
    doc = BEFORE + ORIGINAL + AFTER
    live = LiveRegion(len(BEFORE), ORIGINAL)
    edits = live.advance("    x = 1\r\n    return x\r\n")
    assert live.pending
    # The client applies them one by one, last first (as VS Code does), and reports each change.
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        assert live.map_change(edit.start, edit.end, len(edit.text))
        doc = doc[: edit.start] + edit.text + doc[edit.end :]
    assert live.confirm(doc)
    assert not live.pending
    assert doc == BEFORE + "    x = 1\r\n    return x\r\n" + AFTER


def test_confirm_detects_a_user_edit_inside_while_pending() -> None:
    doc = BEFORE + ORIGINAL + AFTER
    live = LiveRegion(len(BEFORE), ORIGINAL)
    edits = live.advance("    x = 1\r\n")
    doc = apply_edits(doc, edits)
    start = len(BEFORE) + 4
    assert live.map_change(start, start, 1)  # inside our zone: taken as ours for now ...
    doc = doc[:start] + "!" + doc[start:]
    assert not live.confirm(doc)  # ... but the document does not hold what we wrote
    assert live.broken


def test_a_shorter_step_and_back_to_empty() -> None:
    live = LiveRegion(0, "abc\n")
    doc = "abc\ntail"
    doc = apply_edits(doc, live.advance(""))
    assert doc == "tail"
    assert live.region == Region(0, 0)
    doc = apply_edits(doc, live.restore_edits())
    assert doc == "abc\ntail"


def test_a_region_already_holding_other_text() -> None:
    live = LiveRegion(2, "old", current="new text")
    assert live.region == Region(2, 10)
    assert live.restore_edits() == [Edit(2, 10, "old")]


def test_rollback_after_the_client_refused_our_edit() -> None:
    doc = "ab old cd"
    live = LiveRegion(3, "old")
    live.advance("brand new")
    assert live.pending
    # The edit never reached the buffer: the region holds "old" again and the next step starts from it.
    assert live.rollback("old", doc)
    assert not live.pending
    assert live.advance("older") == [Edit(6, 6, "er")]


def test_rollback_breaks_when_the_document_moved_on() -> None:
    live = LiveRegion(3, "old")
    live.advance("new")
    assert not live.rollback("old", "ab OLD cd")
    assert live.broken


def test_mark_broken() -> None:
    live = LiveRegion(0, "x")
    live.mark_broken()
    assert live.broken
    assert not live.confirm("x")
