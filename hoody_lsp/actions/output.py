"""The model's answer -> the code that replaces a command's target region (pure).

Two steps. `extract_code` turns an answer into bare code: special tokens and a leading prose line dropped, the
right fenced block taken out of markdown. `fit_to_target` makes that code fit where it goes: the document's
indentation (re-based and converted between tabs and spaces), no echo of the lines around the region, the
region's trailing-newline policy and the document's line endings.

How `extract_code` picks among several fenced blocks (the choice is deliberate and tested):
- blocks separated only by blank lines, with the same language tag (or none), are one block split in pieces:
  they are joined, keeping the blank lines between them;
- blocks tagged with the target language win; without such a block, shell sessions and program output
  (`bash`, `console`, `text`, ...) lose against code; among what is left the largest block wins, and of two
  equally large blocks the later one (the final answer usually comes last).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from hoody_lsp.edits import split_lines, strip_line_break

# Tokens that end a chat turn: nothing after them belongs to the answer.
_END_TOKEN = re.compile(
    r"<\|(?:im_end|endoftext|eot_id|end_of_turn|end|eos|EOT|file_separator)\|>"
    r"|<｜end▁of▁sentence｜>|</s>|<end_of_turn>"
)
# Other special tokens (turn starts with their role, fill-in-the-middle markers, ...) are removed.
_SPECIAL_TOKEN = re.compile(
    r"<\|im_start\|>(?:assistant|system|user)?[ \t]*\n?"
    r"|<start_of_turn>(?:model|user)?[ \t]*\n?"
    r"|<\|[A-Za-z0-9_.\-/]{1,40}\|>|<｜[^｜\n]{1,40}｜>|<s>"
)
# Reasoning models think aloud first; that text is never code for the target.
_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL)
_REASONING_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>")
_REASONING_OPEN = re.compile(r"\s*<(?:think|thinking|reasoning)>")
# While streaming, a special token or a fence may be cut in the middle: hold such a tail back.
_PARTIAL_TOKEN_TAIL = re.compile(r"<[|｜/]?[A-Za-z0-9_▁.\-]*[|｜]?\Z")
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
# "Here is the updated function:" - a whole sentence ending in a colon, no code punctuation.
_PROSE_LINE = re.compile(r"^[A-Z][A-Za-z',’!-]*(?:[ ][A-Za-z0-9'’`,.!-]+){2,}[:.!]\Z")

# Fence tags of blocks that are usually not the code asked for (commands, program output).
_AUXILIARY_TAGS = frozenset(
    {"bash", "sh", "shell", "zsh", "console", "shell-session", "text", "txt", "plaintext", "output", "diff"}
)
# LSP language id -> the fence tags that mean the same language.
_TAG_ALIASES: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "py", "python3"}),
    "javascript": frozenset({"javascript", "js", "node", "mjs", "cjs"}),
    "javascriptreact": frozenset({"jsx", "javascript", "js", "javascriptreact"}),
    "typescript": frozenset({"typescript", "ts"}),
    "typescriptreact": frozenset({"tsx", "typescript", "ts", "typescriptreact"}),
    "go": frozenset({"go", "golang"}),
    "rust": frozenset({"rust", "rs"}),
    "shellscript": frozenset({"bash", "sh", "shell", "zsh", "shellscript"}),
    "csharp": frozenset({"csharp", "cs", "c#"}),
    "cpp": frozenset({"cpp", "c++", "cc", "cxx", "hpp"}),
    "c": frozenset({"c", "h"}),
    "ruby": frozenset({"ruby", "rb"}),
    "kotlin": frozenset({"kotlin", "kt"}),
    "yaml": frozenset({"yaml", "yml"}),
    "markdown": frozenset({"markdown", "md"}),
    "objective-c": frozenset({"objective-c", "objc"}),
    "powershell": frozenset({"powershell", "ps1", "pwsh"}),
}


@dataclass(frozen=True, slots=True)
class _Block:
    tag: str
    text: str
    first_line: int  # line of the opening fence
    last_line: int  # line of the closing fence (or the last line when unclosed)
    closed: bool = True


def _language_tags(language: str | None) -> frozenset[str]:
    if not language:
        return frozenset()
    language = language.lower()
    return _TAG_ALIASES.get(language, frozenset({language}))


def strip_reasoning(answer: str, *, partial: bool = False) -> str:
    """Without a reasoning model's thinking (`<think>...</think>`; also a lone `</think>` whose opening tag
    was in the prompt). While streaming, an unclosed leading `<think>` means nothing to show yet; in a final
    answer only its tag goes (the model forgot to close it)."""
    answer = _REASONING.sub("", answer)
    closing = _REASONING_CLOSE.search(answer)
    if closing is not None:
        answer = answer[closing.end() :]
    opening = _REASONING_OPEN.match(answer)
    if opening is not None:
        return "" if partial else answer[opening.end() :]
    return answer


def strip_special_tokens(answer: str) -> str:
    """Drop everything after an end-of-turn token and remove other special tokens."""
    for match in _END_TOKEN.finditer(answer):
        if answer[: match.start()].strip():
            answer = answer[: match.start()]
            break
    return _END_TOKEN.sub("", _SPECIAL_TOKEN.sub("", answer))


def _trim_blank_lines(text: str) -> str:
    """Without leading whitespace-only lines, trailing whitespace-only lines and the final line break."""
    lines = split_lines(text)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return ""
    lines[-1] = strip_line_break(lines[-1])
    return "".join(lines)


def _parse_blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(strip_line_break(lines[i]))
        if match is None:
            i += 1
            continue
        fence = match["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        indent = len(match["indent"])
        info = match["info"].strip()
        tag = re.split(r"[\s:{,]", info, maxsplit=1)[0].lower() if info else ""
        j = i + 1
        content: list[str] = []
        while j < len(lines) and not closing.match(strip_line_break(lines[j])):
            line = lines[j]
            # Content of an indented fence is indented by the fence's indentation: take it back off.
            k = 0
            while k < indent and k < len(line) and line[k] in " \t":
                k += 1
            content.append(line[k:])
            j += 1
        text = "".join(content)
        if content:
            text = text[: len(text) - (len(content[-1]) - len(strip_line_break(content[-1])))]
        blocks.append(_Block(tag, text, i, min(j, len(lines) - 1), closed=j < len(lines)))
        i = j + 1
    return blocks


def _group_blocks(blocks: list[_Block], lines: list[str]) -> list[_Block]:
    """Join consecutive blocks separated only by blank lines and sharing their tag (or having none)."""
    groups: list[_Block] = []
    for block in blocks:
        if groups:
            last = groups[-1]
            between = lines[last.last_line + 1 : block.first_line]
            same_tag = not last.tag or not block.tag or last.tag == block.tag
            if same_tag and all(not line.strip() for line in between):
                groups[-1] = _Block(
                    last.tag or block.tag,
                    last.text + "\n" * (len(between) + 1) + block.text,
                    last.first_line,
                    block.last_line,
                    block.closed,
                )
                continue
        groups.append(block)
    return groups


def _choose_block(groups: list[_Block], language: str | None) -> _Block:
    tags = _language_tags(language)
    candidates = [g for g in groups if g.tag in tags]
    if not candidates:
        candidates = [g for g in groups if g.tag not in _AUXILIARY_TAGS] or groups
    best = candidates[0]
    for group in candidates[1:]:
        if len(group.text.strip()) >= len(best.text.strip()):
            best = group
    return best


def _drop_leading_prose(text: str) -> str:
    lines = split_lines(text)
    if lines and _PROSE_LINE.match(strip_line_break(lines[0]).strip()):
        return "".join(lines[1:])
    return text


def extract_code(answer: str, *, language: str | None = None, partial: bool = False) -> str:
    """The code in a model's answer, without leading/trailing blank lines and without a final line break.

    - reasoning: `<think>...</think>` is dropped (see `strip_reasoning`);
    - special tokens: text after an end-of-turn token (`<|im_end|>`, `<|endoftext|>`, `</s>`, ...) is dropped,
      other special tokens removed;
    - markdown: the fenced block chosen as the module docstring says (prose around it dropped); an unclosed
      fence runs to the end of the answer;
    - plain code passes through, except a first line that is clearly a sentence ("Here is the code:").
    `partial=True` is for an answer still streaming: a last line that could still become a fence or a special
    token is held back, and so is a first line not yet complete (it could still turn out to be prose).
    """
    answer = strip_reasoning(strip_special_tokens(answer), partial=partial)
    if partial:
        answer = _PARTIAL_TOKEN_TAIL.sub("", answer)
        lines = split_lines(answer)
        if lines and not lines[-1].endswith(("\n", "\r")) and lines[-1].lstrip().startswith(("`", "~")):
            lines.pop()  # maybe the start of a fence
        answer = "".join(lines)
        if "\n" not in answer and "\r" not in answer:
            return ""
    lines = split_lines(answer)
    blocks = _parse_blocks(lines)
    if blocks:
        chosen = _choose_block(_group_blocks(blocks, lines), language)
        if chosen.text.strip():
            return _trim_blank_lines(chosen.text)
        if partial or any(block.closed for block in blocks):
            return ""  # an empty code block (or one whose code has not arrived yet)
        # Only a stray fence (e.g. a closing fence after plain code): the code is what is outside it.
        answer = "".join(line for line in lines if not _FENCE_OPEN.match(strip_line_break(line)))
    return _trim_blank_lines(_drop_leading_prose(_trim_blank_lines(answer)))


# ------------------------------------------------------------------------------------------------ fitting


def detect_eol(text: str) -> str:
    """The document's line break: its first one, "\\n" when it has none."""
    match = re.search(r"\r\n|\r|\n", text)
    return match.group() if match else "\n"


def _leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _space_unit(lines: list[str]) -> int | None:
    """The indentation step of space-indented lines: the most common increase between consecutive lines."""
    steps: Counter[int] = Counter()
    previous = 0
    for line in lines:
        if not line.strip():
            continue
        ws = _leading_ws(line)
        if "\t" in ws:
            continue
        if len(ws) > previous:
            steps[len(ws) - previous] += 1
        previous = len(ws)
    for step, _ in sorted(steps.items(), key=lambda item: (-item[1], item[0])):
        if 2 <= step <= 8:
            return step
    return None


def detect_indent(text: str) -> str:
    """The document's indentation unit: "\\t" when tabs lead more lines than spaces, else N spaces (4 when
    nothing tells)."""
    lines = [strip_line_break(line) for line in split_lines(text)]
    tabs = sum(1 for line in lines if line.startswith("\t") and line.strip())
    spaces = sum(1 for line in lines if line.startswith(" ") and line.strip())
    if tabs > spaces:
        return "\t"
    return " " * (_space_unit(lines) or 4)


def _convert_indentation(lines: list[str], indent: str) -> list[str]:
    """The lines with their leading whitespace in the document's style (tabs or spaces)."""
    if indent == "\t":
        if not any(line.startswith(" ") for line in lines):
            return lines
        unit = _space_unit(lines) or 4
        out = []
        for line in lines:
            ws = _leading_ws(line)
            if "\t" in ws or not ws:
                out.append(line)
                continue
            levels, rest = divmod(len(ws), unit)
            out.append("\t" * levels + " " * rest + line[len(ws) :])
        return out
    if not any("\t" in _leading_ws(line) for line in lines):
        return lines
    return [_leading_ws(line).replace("\t", indent) + line.lstrip(" \t") for line in lines]


def _common_ws_prefix(lines: list[str]) -> str | None:
    """The longest whitespace prefix shared by every non-blank line (None when all are blank)."""
    prefix: str | None = None
    for line in lines:
        if not line.strip():
            continue
        ws = _leading_ws(line)
        if prefix is None:
            prefix = ws
            continue
        n = 0
        while n < len(prefix) and n < len(ws) and prefix[n] == ws[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


def _meaningful(lines: list[str]) -> bool:
    """Worth treating as an echo: not just a closing bracket or a short keyword that often repeats."""
    return any(any(ch.isalnum() for ch in line) for line in lines) and sum(len(line) for line in lines) >= 6


def _drop_leading_echo(code: list[str], context: list[str]) -> list[str]:
    """Without the longest run of leading code lines that repeats the end of `context` (the lines before)."""
    ctx = [line.strip() for line in context if line.strip()]
    nonblank = [i for i, line in enumerate(code) if line.strip()]
    stripped = [code[i].strip() for i in nonblank]
    for k in range(min(len(ctx), len(nonblank) - 1), 0, -1):  # always keep one line of code
        # Cheap test first: the last echoed line is the line just before the region.
        if stripped[k - 1] == ctx[-1] and stripped[:k] == ctx[len(ctx) - k :] and _meaningful(stripped[:k]):
            return code[nonblank[k - 1] + 1 :]
    return code


def _drop_trailing_echo(code: list[str], context: list[str]) -> list[str]:
    """Without the longest run of trailing code lines that repeats the start of `context` (lines after)."""
    ctx = [line.strip() for line in context if line.strip()]
    nonblank = [i for i, line in enumerate(code) if line.strip()]
    stripped = [code[i].strip() for i in nonblank]
    for k in range(min(len(ctx), len(nonblank) - 1), 0, -1):
        first = len(nonblank) - k
        if stripped[first] == ctx[0] and stripped[first:] == ctx[:k] and _meaningful(stripped[first:]):
            return code[: nonblank[first]]
    return code


def fit_to_target(code: str, *, original: str, before: str, after: str, indent: str, eol: str) -> str:
    """`code` made to replace `original`, the region between `before` and `after` in a document.

    - echo: leading code lines equal (ignoring surrounding whitespace) to the lines just before the region,
      and trailing code lines equal to the lines just after it, are dropped (only when the region starts /
      ends at a line boundary, only if the echo has some substance - a lone "}" is kept - and never the
      whole code);
    - indentation: tabs/spaces converted to the document's unit `indent`, then the code's common indentation
      is replaced by the region's (the common indentation of its lines, counting the whitespace before the
      region on its first line; for an empty region the indentation at the cursor, else the next non-blank
      line's, else the previous one's). When the region starts after other text on its line the first code
      line goes right after that text, unindented;
    - trailing newline: if `original` ends with a line break the result ends with exactly one `eol`, else with
      none; an empty region at the start of a non-empty line gets one (so the code does not run into it);
    - line breaks: every one becomes `eol`.
    Returns "" when the code is empty (the caller decides what an empty answer means).
    """
    lines = [strip_line_break(line) for line in split_lines(_trim_blank_lines(code))]
    if not lines:
        return ""

    before_lines = split_lines(before)
    lead = ""
    if before_lines and not before_lines[-1].endswith(("\n", "\r")):
        lead = before_lines.pop()
    at_line_start = not lead.strip()

    after_lines = split_lines(after)
    if original.endswith(("\n", "\r")) or (not original and at_line_start and not after):
        ends_at_line_end = True
    else:
        first_after = strip_line_break(after_lines[0]) if after_lines else ""
        ends_at_line_end = not first_after.strip()
        if ends_at_line_end and after_lines:
            after_lines = after_lines[1:]

    if at_line_start:
        lines = _drop_leading_echo(lines, [strip_line_break(line) for line in before_lines])
    if ends_at_line_end:
        lines = _drop_trailing_echo(lines, [strip_line_break(line) for line in after_lines])
    while not lines[0].strip():  # blank lines left between the echo and the code
        lines.pop(0)
    while not lines[-1].strip():
        lines.pop()

    lines = _convert_indentation(lines, indent)
    code_base = _common_ws_prefix(lines) or ""

    original_lines = [strip_line_break(line) for line in split_lines(original)] or [""]
    if at_line_start:
        original_lines[0] = lead + original_lines[0]
    else:  # the region's first line is the rest of a line indented like `lead`
        rest = original_lines[0].lstrip(" \t")
        original_lines[0] = _leading_ws(lead) + rest if rest else ""
    target = _common_ws_prefix(original_lines)
    if target is None:  # an empty or blank region: take the indentation around it
        neighbours = [strip_line_break(line) for line in after_lines if line.strip()]
        neighbours += [strip_line_break(line) for line in reversed(before_lines) if line.strip()]
        target = lead if lead else (_leading_ws(neighbours[0]) if neighbours else "")

    fitted = []
    for line in lines:
        if not line.strip():
            fitted.append("")
        elif line.startswith(code_base):
            fitted.append(target + line[len(code_base) :])
        else:
            fitted.append(target + line.lstrip(" \t"))

    # The first line continues whatever precedes the region on its line.
    if at_line_start:
        first = fitted[0]
        n = 0
        while n < len(lead) and n < len(first) and first[n] in " \t":
            n += 1
        fitted[0] = first[n:]
    else:
        fitted[0] = fitted[0].lstrip(" \t")

    result = eol.join(fitted)
    if original:
        trailing = original.endswith(("\n", "\r"))
    else:
        trailing = at_line_start and bool(after) and not after.startswith(("\n", "\r"))
    return result + eol if trailing else result
