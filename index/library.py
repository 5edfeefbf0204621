"""What is indexed, per document: a small SQLite manifest and the extracted text of each document.

Lives in ``<data_dir>/documents/``: ``manifest.sqlite`` (one row per document: source id, path,
format, encoding, pages, chunks, characters, content hash, chunking, indexed at) and
``texts/<sha256(source)>.txt`` (the extracted text, UTF-8, which chunk and citation offsets index).
The indexer writes the text first, then the chunks, then the row; so a row always means "these
chunks of this text are stored", and a run interrupted before the row is written is redone by the
next run (the content hash does not match yet).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

_SCHEMA = """CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY, path TEXT NOT NULL, format TEXT NOT NULL, encoding TEXT,
    pages INTEGER NOT NULL, page_starts TEXT NOT NULL, chunks INTEGER NOT NULL, chars INTEGER NOT NULL,
    content_hash TEXT NOT NULL, chunking TEXT NOT NULL, indexed_at TEXT NOT NULL)"""


@dataclass(frozen=True)
class DocumentRecord:
    """One indexed document.

    Attributes:
        source: Source id (path relative to the indexed root).
        path: Absolute path it was read from.
        format: ``pdf``, ``html``, ``docx``, ``markdown`` or ``text``.
        encoding: Encoding the bytes were decoded with (None for PDF and Word).
        pages: Number of pages (PDF), else 0.
        page_starts: Offset in the extracted text where each page starts (PDF), else empty.
        chunks: Number of stored chunks.
        chars: Characters of extracted text.
        content_hash: SHA-256 of the file's bytes (hex).
        chunking: The chunker's parameters the chunks were made with (a changed value re-chunks).
        indexed_at: When it was indexed (ISO 8601, UTC).
    """

    source: str
    path: str
    format: str
    encoding: str | None
    pages: int
    page_starts: tuple[int, ...]
    chunks: int
    chars: int
    content_hash: str
    chunking: str
    indexed_at: str

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset`` of the text, or None when not paged."""
        return bisect.bisect_right(self.page_starts, offset) if self.page_starts else None


class DocumentLibrary:
    """The manifest and stored texts of the indexed documents.

    Args:
        directory: Where they live (created when missing), e.g. ``<data_dir>/documents``.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.texts_dir = self.directory / "texts"
        self.db_path = self.directory / "manifest.sqlite"

    def _connect(self) -> sqlite3.Connection:
        self.texts_dir.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.db_path, timeout=30)
        con.execute(_SCHEMA)
        return con

    def text_path(self, source: str) -> Path:
        """File holding the extracted text of ``source`` (named by the SHA-256 of the source id)."""
        return self.texts_dir / f"{hashlib.sha256(source.encode('utf-8')).hexdigest()}.txt"

    def write_text(self, source: str, text: str) -> None:
        """Store the extracted text of ``source`` atomically (a temporary file, then a rename)."""
        self.texts_dir.mkdir(parents=True, exist_ok=True)
        path = self.text_path(source)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def text(self, source: str) -> str | None:
        """The stored extracted text of ``source``, or None when it is not stored."""
        path = self.text_path(source)
        if not path.is_file():
            return None
        with path.open(encoding="utf-8", newline="") as f:
            return f.read()

    def put(self, record: DocumentRecord) -> None:
        """Record (or replace) a document's row; call after its text and chunks are stored."""
        row = asdict(record)
        row["page_starts"] = json.dumps(list(record.page_starts))
        with closing(self._connect()) as con, con:
            con.execute(f"INSERT OR REPLACE INTO documents ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                        list(row.values()))

    def get(self, source: str) -> DocumentRecord | None:
        """The row of ``source``, or None."""
        found = [r for r in self._rows("WHERE source = ?", (source,))]
        return found[0] if found else None

    def records(self) -> list[DocumentRecord]:
        """Every row, sorted by source id."""
        return self._rows("ORDER BY source", ())

    def _rows(self, where: str, args: tuple) -> list[DocumentRecord]:
        if not self.db_path.exists():
            return []
        with closing(self._connect()) as con:
            cur = con.execute(f"SELECT * FROM documents {where}", args)
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r)) for r in cur.fetchall()]
        return [DocumentRecord(**{**r, "page_starts": tuple(json.loads(r["page_starts"]))}) for r in rows]

    def remove(self, source: str) -> bool:
        """Drop the row and stored text of ``source``. Returns True when there was a row."""
        with closing(self._connect()) as con, con:
            gone = con.execute("DELETE FROM documents WHERE source = ?", (source,)).rowcount > 0
        self.text_path(source).unlink(missing_ok=True)
        return gone

    def page_at(self, source: str, offset: int) -> int | None:
        """The 1-based page of ``source`` holding character ``offset``, or None (not paged or not known)."""
        record = self.get(source)
        return record.page_at(offset) if record else None
