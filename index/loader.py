"""Load a document: read its bytes, extract its text, refuse what yields no text."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.errors import DocumentError, EmptyDocumentError


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
        source: The id chunks carry as their source: the path relative to the indexed root
            (NFC-normalised, ``/`` separators; the file name by default).
        path: Absolute path the text was read from.
        text: The extracted text (:func:`index.formats.extract`); offsets index into it.
        format: ``pdf``, ``html``, ``docx``, ``markdown`` or ``text``.
        encoding: Encoding the bytes were decoded with (None for PDF and Word).
        page_starts: PDF only: offset in ``text`` where each page starts (page ``i + 1``).
        content_hash: SHA-256 of the file's bytes (hex).
    """

    source: str
    path: Path
    text: str
    format: str = "text"
    encoding: str | None = "utf-8"
    page_starts: tuple[int, ...] = ()
    content_hash: str = ""


def content_hash(data: bytes) -> str:
    """SHA-256 of a file's bytes, hex: what tells a changed file from an unchanged one."""
    return hashlib.sha256(data).hexdigest()


def load_document(path: str | Path, source: str | None = None, data: bytes | None = None) -> SourceDocument:
    """Read a document and extract its text (:func:`index.formats.extract`).

    Args:
        path: File to read.
        source: Source id to give it (default: the file name).
        data: The file's bytes when already read (default: read ``path``).

    Returns:
        The document with its extracted text and how it was read.

    Raises:
        EmptyDocumentError: the file yields no visible text (empty, a scanned PDF without a text
            layer, only white space or invisible characters such as U+200B, see
            :func:`has_visible_text`). The message names the file.
        DocumentError: the path is missing or not a file, or cannot be read as its format (binary
            content, no known encoding, a broken PDF or Word file). The message names the file.
    """
    from index.formats import extract

    p = Path(path).expanduser()
    if not p.exists():
        raise DocumentError(f"{p}: no such file. Check the path and try again.")
    if not p.is_file():
        raise DocumentError(f"{p}: not a regular file. Give the path of a document or a folder.")
    data = p.read_bytes() if data is None else data
    got = extract(data, str(p))
    if not has_visible_text(got.text):
        if not data.strip():
            what = "empty"
        elif got.format in ("pdf", "docx", "html"):
            what = f"a {got.format.upper()} file without extractable text" + (
                " (a scanned PDF has no text layer: run OCR first)" if got.format == "pdf" else "")
        else:
            what = "only white space or invisible characters (such as U+200B)"
        raise EmptyDocumentError(f"{p}: the file is {what}. Nothing to index.")
    return SourceDocument(source=source or unicodedata.normalize("NFC", p.name), path=p.resolve(), text=got.text,
                          format=got.format, encoding=got.encoding, page_starts=got.page_starts,
                          content_hash=content_hash(data))
