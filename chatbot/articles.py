"""Loading article files: the Article record, content-hash ids, titles and dates, input checks.

A `.txt`/`.md` file is read exactly as stored; YAML-ish front matter (`---`, `title: …`,
`date: …`, `---`) gives its title and date and stays in the text, so offsets are unchanged.
An `.html`/`.htm` page keeps its main text only (trafilatura), written beside it as
`page.html.txt`: that extracted file is the article's `source`, so citations index a file on disk.

Limits (bad input is one clear InputError, before anything is written): a file of at most
`max_article_bytes` (5 MB; its size is read before the file), UTF-8 text (a UTF-8 BOM is kept as
it is), never binary (NUL bytes); inside the allowed folders (`ingest_dirs`, by default the
root) after symlinks are followed. A file in another encoding (UTF-16, Windows-1252) is refused
with the command that converts it: the text citations index is the file read as UTF-8, so it is
never decoded any other way here.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:
    from .settings import Settings

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES
EXTRACTED = ".txt"  # page.html → page.html.txt, the page's main text
MAX_BYTES = 5_000_000
MAX_TITLE = 80

_FRONT_OPEN = re.compile(r"\ufeff?---[ \t]*\r?\n")
_FRONT_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.M)
_FIELD = re.compile(r"([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*)")
_MD_HEADING = re.compile(r"#{1,6}[ \t]+\S")


@dataclass(frozen=True)
class Article:
    """One article. `source` is the path of the file its text is (relative to the root, POSIX
    form); `origin` is the HTML page that text was extracted from, if any."""

    source: str
    text: str
    title: str = ""
    date: str = ""
    origin: str = ""

    @property
    def id(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def resolved(path: Path) -> Path:
    """The path with every symlink followed; a symlink loop is an InputError."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop
        raise InputError(f"{path} is a symlink loop") from None


def source_name(path: Path, root: Path) -> str:
    """The path as it appears in citations: relative to root when inside it."""
    path = resolved(path)
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def source_key(source: str) -> str:
    """A short file-name-safe key for an article's source (names its saved prompt states)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


def drop_saved_states(settings: Settings, source: str) -> int:
    """Delete the saved model states of one article; how many files went."""
    files = list((settings.cache_dir / "kv").glob(f"{source_key(source)}-*.npz"))
    for f in files:
        f.unlink(missing_ok=True)
    return len(files)


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes; its size is checked first, so a huge file is never read whole."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise InputError(f"{path} is {size:,} bytes; the limit is {max_bytes:,}")
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > max_bytes:  # grew while read, or not a regular file
        raise InputError(f"{path} is larger than {max_bytes:,} bytes")
    return data


_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_utf8(data: bytes, name: object) -> str:
    """The bytes as UTF-8 text, or an InputError naming what they look like instead (and the
    command that converts them)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise InputError(
                f"{name} is {encoding} text, not UTF-8; convert it first: "
                f"iconv -f {encoding} -t UTF-8 {name} > converted.txt"
            )
    if b"\0" in data:
        raise InputError(f"{name} is a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = ""
        try:
            data.decode("cp1252")
            hint = f"; if it is Windows-1252: iconv -f CP1252 -t UTF-8 {name} > converted.txt"
        except UnicodeDecodeError:
            pass
        raise InputError(
            f"{name} is not UTF-8 text (bad byte at offset {exc.start}){hint}"
        ) from None


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """Read a file as UTF-8 exactly as stored (no newline translation)."""
    return decode_utf8(read_bytes(path, max_bytes), path)


def front_matter(text: str) -> tuple[dict[str, str], int]:
    """The fields of a leading `---` … `---` block (lower-case keys) and where the body starts;
    ({}, 0) when the text has none (or the block is not `key: value` lines)."""
    opened = _FRONT_OPEN.match(text)
    closed = opened and _FRONT_CLOSE.search(text, opened.end())
    if not opened or not closed:
        return {}, 0
    fields: dict[str, str] = {}
    for line in text[opened.end() : closed.start()].splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line[:1] in " \t-":
            continue  # blank, comment, or a nested value
        m = _FIELD.fullmatch(line.rstrip())
        if not m:
            return {}, 0
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields[m.group(1).lower()] = value
    return fields, closed.end()


def first_line(text: str, start: int = 0) -> str:
    """The title a text gives itself from `start`: its first markdown heading, else its first
    non-empty line, shortened at a word to MAX_TITLE characters."""
    lines = [x.strip() for x in text[start:].splitlines() if x.strip()]
    line = next((x for x in lines if _MD_HEADING.match(x)), lines[0] if lines else "")
    line = line.lstrip("#").strip()
    if len(line) <= MAX_TITLE:
        return line
    return line[: MAX_TITLE - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# what a reader never sees: hidden by attribute or inline style, scripts and their fallbacks
_HIDDEN = (
    "//script | //style | //noscript | //template | //*[@hidden] | //*[@aria-hidden='true']"
    " | //*[contains(translate(@style, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ', 'abcdefghijklmnopqrstuvwxyz'),"
    " 'display:none')]"
    " | //*[contains(translate(@style, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ', 'abcdefghijklmnopqrstuvwxyz'),"
    " 'visibility:hidden')]"
)


def visible_html(data: bytes) -> bytes:
    """The page without what a reader never sees (hidden elements, scripts, styles), so hidden
    text cannot become article text."""
    from lxml import etree, html

    try:
        tree = html.fromstring(data)
    except (etree.ParserError, ValueError):
        return data  # nothing to parse: extraction says so
    for el in tree.xpath(_HIDDEN):
        if el.getparent() is not None:
            el.drop_tree()
    return html.tostring(tree, encoding="utf-8")


def extract_html(data: bytes, name: str) -> tuple[str, str, str]:
    """The main text of an HTML page (no navigation, scripts, hidden elements, banners,
    comments), its title and its date (YYYY-MM-DD or ""). Tables are left out: a layout table
    would bring the page's menu in as one long row, and a table's rows do not read as sentences."""
    import trafilatura  # imported here: only HTML ingest needs it

    doc = trafilatura.bare_extraction(
        visible_html(data), with_metadata=True, include_comments=False, include_tables=False
    )
    text = (doc.text or "").strip() if doc else ""
    if not text:
        raise InputError(f"{name}: no article text found in the page")
    return text + "\n", doc.title or first_line(text), doc.date or ""


def extraction_path(page: Path) -> Path:
    """Where an HTML page's extracted text is stored: beside it, `page.html.txt`."""
    return page.with_name(page.name + EXTRACTED)


def original_page(path: Path) -> Path | None:
    """The HTML page an extracted text file (`page.html.txt`) was written from, if it exists."""
    page = path.with_name(path.name.removesuffix(EXTRACTED))
    if path.name.endswith(EXTRACTED) and page.suffix.lower() in HTML_SUFFIXES and page.is_file():
        return page
    return None


def check_allowed(path: Path, allowed: Iterable[Path]) -> None:
    """An InputError unless the file (symlinks followed) is inside one of the `allowed` folders."""
    real = resolved(path)
    folders = [resolved(Path(a)) for a in allowed]
    if not any(real.is_relative_to(f) for f in folders):
        names = ", ".join(str(f) for f in folders)
        raise InputError(
            f"{path} is outside the folders articles may come from ({names}); "
            "add its folder to CHATBOT_INGEST_DIRS to allow it"
        )


def load_article(path: Path, root: Path, max_bytes: int = MAX_BYTES) -> Article:
    """Load and check one article file (an HTML page: its extracted main text, not yet written)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{path}: only {', '.join(SUFFIXES)} files can be ingested")
    if suffix in HTML_SUFFIXES:
        text, title, date = extract_html(read_bytes(path, max_bytes), str(path))
        source = source_name(extraction_path(path), root)
        return Article(source, text, title, date, origin=source_name(path, root))
    text = read_text(path, max_bytes)
    if not text.strip():
        raise InputError(f"{path} is empty")
    fields, body = front_matter(text)
    if not text[body:].strip():
        raise InputError(f"{path} has front matter but no text")
    return Article(
        source_name(path, root),
        text,
        fields.get("title") or first_line(text, body),
        fields.get("date", ""),
    )


def save_extraction(article: Article, root: Path) -> None:
    """Write an HTML article's extracted text to its `source` file (only when it changed)."""
    path = root / article.source
    data = article.text.encode("utf-8")
    if article.origin and (not path.is_file() or path.read_bytes() != data):
        path.write_bytes(data)


def find_article_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their article files; a missing path is an error. An extracted text
    (`page.html.txt` beside `page.html`) stands for its page, so a page is ingested once."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES))
        elif p.exists():
            found.append(p)
        elif p.is_symlink():
            resolved(p)  # a loop is named as one
            raise InputError(f"{p} is a symlink to a missing file")
        else:
            raise InputError(f"no such file or folder: {p}")
    return list(dict.fromkeys(original_page(f) or f for f in found))
