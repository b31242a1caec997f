"""HTML for a cited span in its surrounding text: everything escaped, the spans in <mark>."""

from __future__ import annotations

import html
import re


def excerpt(
    text: str, spans: list[tuple[int, int]], active: tuple[int, int], window: int = 350
) -> str:
    """The text around `active` with every span in `spans` highlighted; `active` gets an id."""
    lo = max(0, active[0] - window)
    hi = min(len(text), active[1] + window)
    lo = text.rfind("\n", 0, lo) + 1 if lo else 0  # start at a line boundary
    nxt = text.find("\n", hi)
    hi = len(text) if nxt < 0 else nxt
    inside = sorted({s for s in spans if s[0] < hi and s[1] > lo} | {active})
    out, pos = [], lo
    for a, b in inside:
        a, b = max(a, pos), min(b, hi)
        if a >= b:
            continue
        out.append(html.escape(text[pos:a]))
        attrs = ' class="cited active"' if (a, b) == active else ' class="cited"'
        out.append(f"<mark{attrs}>{html.escape(text[a:b])}</mark>")
        pos = b
    out.append(html.escape(text[pos:hi]))
    body = "".join(out).replace("\n", "<br>")
    return f'<div class="article-excerpt">{"… " if lo else ""}{body}{" …" if hi < len(text) else ""}</div>'


_MD_SPECIAL = "\\`*_{}[]()#+-.!|<>~$:"


_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)")


def escape_markdown(text: str) -> str:
    """Model or user text shown through st.markdown: no links, images, HTML or math get through
    (a bare URL gets a word joiner before "://", so it is not made a link either). Lines that
    start with "- " stay list items; every line break is kept."""
    lines = []
    for line in _AUTOLINK.sub("\u2060", text).split("\n"):
        bullet = "- " if line.startswith("- ") else ""
        body = line[len(bullet) :]
        lines.append(bullet + "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in body))
    return "  \n".join(lines)
