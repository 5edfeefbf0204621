"""Find the files to index under the paths given, and name each by its path relative to a root.

A document's source id is its path relative to the root, NFC-normalised, with ``/`` separators
(``reports/2024/q1.pdf``), so same-named files in different folders are different documents. The
root is ``--root`` when given; else the current directory for a path under it (run in ``~/work``,
``assistant index a/README.md`` names it ``a/README.md`` and ``assistant index docs`` names
``docs/b/README.md``), and for a path outside it the folder holding that path (``/srv/notes``
gives ``notes/...``).
"""

from __future__ import annotations

import fnmatch
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.errors import DocumentError
from index.formats import FORMATS, SNIFF_BYTES, looks_binary


@dataclass(frozen=True)
class FoundFile:
    """A file to index: its absolute path and its source id."""

    path: Path
    source: str


def source_id(path: Path, root: Path) -> str:
    """``path`` relative to ``root``: NFC-normalised, ``/`` separators.

    Raises:
        DocumentError: ``path`` is not under ``root``.
    """
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        raise DocumentError(f"{path} is not under the root {root}. Give a --root that holds every path.") from None
    return unicodedata.normalize("NFC", rel.as_posix())


def default_root(path: Path) -> Path:
    """The root of a path given without ``--root``: the current directory when ``path`` is it or lies
    under it (``assistant index .`` names files ``a/README.md``), else the folder holding ``path``."""
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    return cwd if resolved.is_relative_to(cwd) else resolved.parent


def _matching(rel: str, patterns: list[str]) -> list[str]:
    """The globs that match ``rel`` (a path relative to the folder given, ``/`` separators) or its
    file name (``*.md``, ``drafts/*``)."""
    name = rel.rsplit("/", 1)[-1]
    return [p for p in patterns if fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p)]


def _is_binary(path: Path) -> bool:
    if path.suffix.lower() in FORMATS and FORMATS[path.suffix.lower()] in ("pdf", "docx"):
        return False
    try:
        with path.open("rb") as f:
            return looks_binary(f.read(SNIFF_BYTES))
    except OSError:
        return True


def discover(paths: list[str | Path], include: list[str] | None = None, exclude: list[str] | None = None,
             root: str | Path | None = None) -> tuple[list[FoundFile], list[str]]:
    """Walk files and folders (recursively) and list what to index.

    Hidden files and folders (name starting with ``.``) inside a folder given are skipped, and so
    are binary files (a NUL byte in the first 8 KiB, except PDF and Word files); a file named
    directly is always considered. ``include``/``exclude`` globs (``fnmatch``) are matched against
    the path relative to the folder given (``assistant index docs/ --exclude 'drafts/*'`` drops
    ``docs/drafts/old.md``, wherever it is run from; for a file given directly, its name) and against
    the file name; with ``include``, only matching files are kept. A glob that matched no file is
    reported among the messages (a mistyped or root-relative pattern is not silently ignored).

    Args:
        paths: Files and folders.
        include: Globs a file must match (default: every file).
        exclude: Globs that drop a file.
        root: Folder source ids are relative to (default: :func:`default_root` of each path).

    Returns:
        The files in a stable order (sorted per path given), and one message per skipped file
        naming it and saying why, then one per include/exclude glob that matched no file.

    Raises:
        DocumentError: a path does not exist, is not under ``root``, or two files get the same id.
    """
    include, exclude = list(include or []), list(exclude or [])
    found: dict[str, FoundFile] = {}
    skipped: list[str] = []

    used: set[str] = set()

    def consider(path: Path, base: Path, walked: bool, rel: str) -> None:
        source = source_id(path, base)
        kept, dropped = _matching(rel, include), _matching(rel, exclude)
        used.update(kept, dropped)
        if include and not kept or dropped:
            return
        if walked and _is_binary(path):
            skipped.append(f"skipped {source}: binary file")
            return
        other = found.setdefault(source, FoundFile(path.resolve(), source))
        if other.path != path.resolve():
            raise DocumentError(f"{other.path} and {path} would both be indexed as {source!r}. "
                                "Give a --root that holds both (their paths under it differ), or index them apart.")

    for given in paths:
        p = Path(given).expanduser()
        if not p.exists():
            raise DocumentError(f"{p}: no such file or folder. Check the path and try again.")
        base = Path(root).expanduser() if root else default_root(p)
        if p.is_file():
            consider(p, base, walked=False, rel=unicodedata.normalize("NFC", p.name))
            continue
        for dirpath, dirnames, filenames in os.walk(p):
            hidden = sorted(d for d in dirnames if d.startswith("."))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for d in hidden:
                skipped.append(f"skipped {source_id(Path(dirpath) / d, base)}/: hidden folder")
            for name in sorted(filenames):
                f = Path(dirpath) / name
                if name.startswith("."):
                    skipped.append(f"skipped {source_id(f, base)}: hidden file")
                elif f.is_file():
                    consider(f, base, walked=True, rel=unicodedata.normalize("NFC", f.relative_to(p).as_posix()))
    for option, patterns in (("--include", include), ("--exclude", exclude)):
        skipped += [f"{option} {g!r} matched no file (globs match the path under the folder given, "
                    "or the file name)" for g in dict.fromkeys(patterns) if g not in used]
    return list(found.values()), skipped
