"""Markdown pipe tables: where they are (write path) and which header a row stands under (read path).

A table's *head* is its caption (a one-line label right before the table, such as "Revenue,
EUR thousands"; a line of prose that ends as a sentence, such as the paragraph a table follows on
an HTML page, is not a caption: :func:`is_caption`), its header row and its delimiter row, exactly
as written in the source. The chunker keeps every row with its head: the first chunk of a table holds the head in its text, and
each later chunk carries it as ``context`` (not part of the chunk's ``start``/``end`` span). Evidence
selection and the verifier read a row together with its head (:func:`row_in_table`), so a value is
read under its column ("1,500" under "2023").

Tables are found with markdown-it-py's GFM table rule (so pipes inside code blocks are not
tables); rows and cells are read by line, as GFM defines them (cells separated by ``|``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A GFM delimiter row: cells of at least one dash, optionally with alignment colons.
_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
#: A line that ends as a sentence of prose (".", "!" or "?", possibly before closing quotes/brackets).
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s*$")
#: A numbered table label ("Table 2.", "Tab. 3:"), a caption even when it ends with a period.
_TABLE_LABEL = re.compile(r"^\s*(table|tab\.)\s*[\dIVXivx]+", re.I)


def is_caption(line: str) -> bool:
    """True when the one-line paragraph ``line`` right before a table is its caption: a label
    ("Revenue, EUR thousands", "Losses per year:", "Table 2. Losses"), not a sentence of prose
    ("Oxalic acid works best in winter."), which stays ordinary text and is not read with each row."""
    return bool(line.strip()) and (not _SENTENCE_END.search(line) or bool(_TABLE_LABEL.match(line)))


@dataclass(frozen=True)
class TableBlock:
    """One table in a source text (character offsets into it).

    Attributes:
        start: Start of the head (the caption line when there is one, else the header row).
        head_end: End of the delimiter row (``text[start:head_end]`` is the head).
        rows: ``(start, end)`` of each body row line, without its line break, in order.
    """

    start: int
    head_end: int
    rows: tuple[tuple[int, int], ...]

    @property
    def end(self) -> int:
        """End of the last row (the head's end when the table has no body row)."""
        return self.rows[-1][1] if self.rows else self.head_end


def find_tables(text: str) -> list[TableBlock]:
    """The Markdown pipe tables of ``text``, in order, with their captions.

    Returns:
        One block per table; empty when the text has none.
    """
    from markdown_it import MarkdownIt

    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def line_span(i: int) -> tuple[int, int]:
        start = line_starts[i]
        end = line_starts[i + 1] - 1 if i + 1 < len(line_starts) else len(text)
        return start, end

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    out: list[TableBlock] = []
    last_paragraph: list[int] | None = None
    for i, tok in enumerate(tokens):
        if tok.type == "paragraph_open" and tok.level == 0:
            last_paragraph = tok.map
        if tok.type != "table_open" or tok.level != 0 or not tok.map:
            continue
        first_line = tok.map[0]
        caption = (last_paragraph is not None and last_paragraph[1] - last_paragraph[0] == 1
                   and first_line - last_paragraph[1] <= 1 and is_caption(text[slice(*line_span(last_paragraph[0]))]))
        start = line_span(last_paragraph[0])[0] if caption else line_span(first_line)[0]
        start += len(text[start:]) - len(text[start:].lstrip())
        head_end = line_span(first_line + 1)[1]
        rows = []
        for tr in tokens[i:]:
            if tr.type == "table_close":
                break
            if tr.type == "tr_open" and tr.map and tr.map[0] > first_line + 1:
                s, e = line_span(tr.map[0])
                rows.append((s + len(text[s:e]) - len(text[s:e].lstrip()), s + len(text[s:e].rstrip())))
        out.append(TableBlock(start, head_end, tuple(rows)))
    return out


def cells(line: str) -> list[str]:
    """The cells of one table line, stripped (``"| North | 1,500 |"`` -> ``["North", "1,500"]``)."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def _is_row(line: str) -> bool:
    return line.lstrip().startswith("|")


@dataclass(frozen=True)
class TableRow:
    """A table row read with its head.

    Attributes:
        head: The caption, header and delimiter lines, as in the source.
        header: Header cells.
        row: The row's cells.
    """

    head: str
    header: list[str]
    row: list[str]


def row_in_table(text: str, start: int, context: str = "") -> TableRow | None:
    """The table row of ``text`` at offset ``start``, with the head it stands under.

    The head is found above the row in ``text``; when the table began before ``text`` does (a later
    chunk of a table), it is taken from ``context`` (the chunk's repeated head).

    Args:
        text: A passage text.
        start: Offset in ``text`` of a sentence (split at line breaks, so a row is a sentence).
        context: The passage's context (a repeated table head, or "").

    Returns:
        The row with its header and head, or None when the line at ``start`` is not a table row
        under a known header.
    """
    lines = text.split("\n")
    pos, idx = 0, 0
    for idx, line in enumerate(lines):  # noqa: B007 - idx is used after the loop
        if pos + len(line) >= start:
            break
        pos += len(line) + 1
    line = lines[idx]
    if not _is_row(line) or _DELIMITER.match(line):
        return None
    j = idx - 1
    while j >= 0 and _is_row(lines[j]) and not _DELIMITER.match(lines[j]):
        j -= 1
    if j >= 1 and _DELIMITER.match(lines[j]) and _is_row(lines[j - 1]):
        h = j - 1
        c = h - 1 if h >= 1 and lines[h - 1].strip() else h - 2
        one_line = (c >= 0 and is_caption(lines[c]) and not _is_row(lines[c])
                    and (c == 0 or not lines[c - 1].strip()))
        first = c if one_line else h
        return TableRow("\n".join(lines[first:j + 1]), cells(lines[h]), cells(line))
    if j < 0 and context:  # the rows run from the top of the passage: the head is its context
        head_lines = context.rstrip("\n").split("\n")
        header = [x for x in head_lines if _is_row(x) and not _DELIMITER.match(x)]
        if header:
            return TableRow(context, cells(header[-1]), cells(line))
    return None


def is_head_line(text: str, start: int) -> bool:
    """True when the line of ``text`` holding offset ``start`` is a table's header or delimiter row:
    column names without values, read with each row (:func:`row_in_table`) and answering nothing alone."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    line = text[line_start:line_end]
    if not _is_row(line):
        return False
    following = text[line_end + 1:].split("\n", 1)[0] if line_end < len(text) else ""
    return bool(_DELIMITER.match(line)) or bool(_DELIMITER.match(following))


def row_sentence(row: TableRow) -> str:
    """A row read as one sentence of its table: the caption, then each header with its cell.

    ``"Revenue, EUR thousands: Region Brightwater; 2022 1,320; 2023 1,500."`` Used where a row is
    compared with words (evidence scores, the verifier's support test); citations quote the row.
    """
    caption = " ".join(x.strip() for x in row.head.split("\n") if x.strip() and not _is_row(x) and not _DELIMITER.match(x))
    pairs = "; ".join(f"{h} {c}".strip() for h, c in zip(row.header, row.row))
    return f"{caption}: {pairs}." if caption else f"{pairs}."
