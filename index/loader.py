"""Load a text document, refusing what cannot be indexed faithfully."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.errors import DocumentError, EmptyDocumentError

#: Bytes read to sniff for binary content (NUL bytes), as git and grep do.
_SNIFF_BYTES = 8192


#: Unicode categories of characters that show nothing: format (Cf: zero-width space U+200B, joiners,
#: word joiner, BOM, bidi marks), controls (Cc), separators (Zs, Zl, Zp).
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})


def has_visible_text(text: str) -> bool:
    """True when ``text`` holds a character that is neither white space nor an invisible format or
    control character (Unicode categories Cf, Cc, Zs, Zl, Zp)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES for ch in text)


@dataclass(frozen=True)
class SourceDocument:
    """A loaded document.

    Attributes:
        source: The name chunks carry as their source (the file name).
        path: Absolute path the text was read from.
        text: The full text, decoded as UTF-8, unchanged (offsets index into it).
    """

    source: str
    path: Path
    text: str


def load_document(path: str | Path) -> SourceDocument:
    """Read a UTF-8 text file.

    Args:
        path: File to read.

    Returns:
        The document with its exact text (a leading UTF-8 BOM is dropped; nothing else changes).

    Raises:
        EmptyDocumentError: the file has no visible text (empty, or only white space and invisible
            characters such as U+200B, see :func:`has_visible_text`). The message names the file.
        DocumentError: the path is missing or not a file, contains NUL bytes (binary), or is not
            valid UTF-8. The message names the file.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DocumentError(f"{p}: no such file. Check the path and try again.")
    if not p.is_file():
        raise DocumentError(f"{p}: not a regular file. Give the path of a UTF-8 text file.")
    data = p.read_bytes()
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise DocumentError(f"{p}: looks like a binary file (contains NUL bytes). Only UTF-8 text can be indexed.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{p}: not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r}). "
            "Convert it to UTF-8 (for example `iconv -f latin1 -t utf-8`) and index it again."
        ) from None
    text = text.removeprefix("\ufeff")
    if not has_visible_text(text):
        what = "empty" if not text.strip() else "only white space or invisible characters (such as U+200B)"
        raise EmptyDocumentError(f"{p}: the file is {what}. Nothing to index.")
    return SourceDocument(source=p.name, path=p.resolve(), text=text)
