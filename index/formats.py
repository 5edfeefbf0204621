"""Text extraction per file format, each through a well-kept library.

- PDF: ``pypdf`` (``PdfReader.pages[i].extract_text()``), one page after another, pages joined by a
  blank line; the offset where each page starts is kept so a citation can name its page.
- HTML: BeautifulSoup with the standard library's ``html.parser``; navigation, scripts, styles,
  headers, footers, asides and forms are dropped; the text of ``<main>`` (or ``<article>``, or
  ``<body>``) is kept block by block, headings as Markdown ``#`` lines, tables as pipe tables.
- Word (.docx): ``python-docx``; paragraphs and tables in body order, headings as ``#`` lines.
- Markdown and plain text: the text itself (a leading YAML front matter block is dropped), decoded
  as UTF-16/32 when a byte-order mark says so, else as UTF-8 or, failing that, in the encoding
  ``charset-normalizer`` detects (recorded, not refused).

Offsets of chunks and citations index the *extracted* text, which the indexer stores beside the
chunks (:class:`index.library.DocumentLibrary`).
"""

from __future__ import annotations

import codecs

import io
import re
from dataclasses import dataclass, field

from index.errors import DocumentError

#: Bytes read to sniff for binary content (NUL bytes), as git and grep do.
SNIFF_BYTES = 8192

#: Format of each file extension the extractors know; any other extension is read as plain text
#: when it is not binary.
FORMATS = {".pdf": "pdf", ".html": "html", ".htm": "html", ".xhtml": "html", ".docx": "docx",
           ".md": "markdown", ".markdown": "markdown"}

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_DROP_TAGS = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg",
              "iframe", "button"]
_BLOCKS = ["p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "blockquote", "dt", "dd", "table",
           "div", "section", "figcaption", "caption", "address"]


@dataclass(frozen=True)
class Extracted:
    """The text of one file and how it was read.

    Attributes:
        text: The extracted text (offsets index into it).
        format: ``pdf``, ``html``, ``docx``, ``markdown`` or ``text``.
        encoding: Character encoding the bytes were decoded with (``None`` for PDF and Word, whose
            libraries decode them).
        page_starts: For PDFs, the offset in ``text`` where each page (1-based page ``i + 1``)
            starts; empty for other formats.
    """

    text: str
    format: str
    encoding: str | None = None
    page_starts: tuple[int, ...] = field(default_factory=tuple)


def format_of(name: str) -> str:
    """The format of a file by its extension (case-insensitive): see :data:`FORMATS`, else ``text``."""
    dot = name.rfind(".")
    return FORMATS.get(name[dot:].lower(), "text") if dot >= 0 else "text"


#: Byte-order marks of the UTF-16/32 encodings, UTF-32 first (its little-endian mark starts with UTF-16's).
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
              (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def wide_bom(data: bytes) -> tuple[str, int] | None:
    """``(encoding, BOM length)`` when ``data`` starts with a UTF-16 or UTF-32 byte-order mark (a
    Windows Notepad "Unicode" file), else None. Such text holds NUL bytes and is not binary."""
    return next(((enc, len(bom)) for bom, enc in _WIDE_BOMS if data.startswith(bom)), None)


def looks_binary(data: bytes) -> bool:
    """True when the first :data:`SNIFF_BYTES` bytes hold a NUL byte (git's and grep's rule), unless
    they start with a UTF-16/32 byte-order mark (:func:`wide_bom`)."""
    return b"\x00" in data[:SNIFF_BYTES] and wide_bom(data) is None


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode text bytes: UTF-16/32 named by a byte-order mark, UTF-8 (a BOM is dropped) or the
    encoding ``charset-normalizer`` detects; a byte-order mark is never part of the text, so offsets
    index the text without it.

    Returns:
        ``(text, encoding)``; the encoding is ``utf-8`` or the detector's name (``cp1252`` when it is
        among the encodings giving the detector's text, ``Match.could_be_from_charset``). Detection on
        a few bytes is a guess: a short Latin-1 file may be read as ``cp1250``.

    Raises:
        DocumentError: the bytes look binary (NUL bytes) or no encoding decodes them.
    """
    if looks_binary(data):
        raise DocumentError(f"{name}: looks like a binary file (contains NUL bytes); skipped.")
    if (wide := wide_bom(data)) is not None:  # the mark names the encoding; it is not part of the text
        encoding, skip = wide
        try:
            return data[skip:].decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{name}: starts with a {encoding.upper()} byte-order mark but is not valid "
                                f"{encoding.upper()} ({exc.reason} at byte {exc.start + skip}); skipped. "
                                "Save it again as UTF-8 and index it again.") from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise DocumentError(f"{name}: not text in any encoding charset-normalizer knows; skipped. "
                            "Convert it to UTF-8 and index it again.")
    # Encodings that decode these bytes to the same text are equivalent here; name the most common one.
    if best.encoding != "cp1252" and "cp1252" in best.could_be_from_charset:
        return data.decode("cp1252"), "cp1252"
    return str(best), best.encoding


def _clean(s: str) -> str:
    return " ".join(s.split())


def _pipe_table(rows: list[list[str]]) -> str:
    """Rows of cells as a Markdown pipe table (first row as header), so :mod:`index.tables` finds it."""
    rows = [r for r in rows if any(r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    line = lambda r: "| " + " | ".join([c.replace("|", "/") for c in r] + [""] * (width - len(r))) + " |"  # noqa: E731
    return "\n".join([line(rows[0]), "|" + "---|" * width] + [line(r) for r in rows[1:]])


def _html(data: bytes) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    parts: list[str] = []
    for block in root.find_all(_BLOCKS):
        if block.find_parent("table") is not None:
            continue  # read with its table
        if block.name == "table":
            rows = [[_clean(c.get_text(" ")) for c in tr.find_all(["th", "td"])] for tr in block.find_all("tr")]
            parts.append(_pipe_table(rows))
            continue
        if block.find(_BLOCKS) is not None:
            continue  # not a leaf block: its inner blocks are read one by one
        text = _clean(block.get_text(" "))
        if text and block.name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = "#" * int(block.name[1]) + " " + text
        parts.append(text)
    if not root.find(_BLOCKS):
        parts.append(_clean(root.get_text(" ")))
    return "\n\n".join(p for p in parts if p), soup.original_encoding


def _docx(data: bytes) -> str:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    parts: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            parts.append(_pipe_table([[_clean(c.text) for c in row.cells] for row in item.rows]))
            continue
        text = _clean(item.text)
        style = (item.style.name if item.style is not None else "") or ""
        level = style.removeprefix("Heading ").strip()
        if text and style.startswith("Heading ") and level.isdigit():
            text = "#" * int(level) + " " + text
        parts.append(text)
    return "\n\n".join(p for p in parts if p)


def _pdf(data: bytes) -> tuple[str, tuple[int, ...]]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    text, starts = "", []
    for i, page in enumerate(reader.pages):
        if i:
            text += "\n\n"
        starts.append(len(text))
        text += (page.extract_text() or "").strip()
    return text, tuple(starts)


def extract(data: bytes, name: str) -> Extracted:
    """Extract the text of a file's bytes by its format (:func:`format_of` on ``name``).

    Args:
        data: The file's bytes.
        name: The file's name or path (chooses the format; named in errors).

    Returns:
        The text with its format, encoding and (PDF) page offsets. The text may be empty: the
        caller decides what to do with a file without text.

    Raises:
        DocumentError: the file cannot be read as its format (a broken PDF or Word file, binary
            content in a text file, no encoding decodes it). The message names the file.
    """
    fmt = format_of(name)
    try:
        if fmt == "pdf":
            text, starts = _pdf(data)
            return Extracted(text, fmt, None, starts)
        if fmt == "docx":
            return Extracted(_docx(data), fmt)
        if fmt == "html":
            if looks_binary(data):
                raise DocumentError(f"{name}: looks like a binary file (contains NUL bytes); skipped.")
            text, encoding = _html(data)
            return Extracted(text, fmt, encoding or "utf-8")
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - each library has its own errors for a broken file
        raise DocumentError(f"{name}: cannot be read as {fmt.upper()} ({type(exc).__name__}: {exc}); skipped. "
                            "Check that the file opens in its application.") from None
    text, encoding = decode_text(data, name)
    if fmt == "markdown":
        text = _FRONT_MATTER.sub("", text, count=1)
    return Extracted(text, fmt, encoding)
