"""What of a reply the model is still writing may be checked and shown (`Chatbot.stream`).

The stream shows verified text only, and nothing it must take back: the final answer's text
starts with whatever was shown. So a part of the reply is checked only when it can no longer
change: whole sentences and lines (`finished`), but not a list still being written (`settled`:
verification may add the items the model left out, and the first item alone is written without
its "- "); and of the checked text only the part whose citation numbers come in order is shown
(`in_order`: an item verification added is numbered after every claim, so a later claim would
renumber it).
"""

from __future__ import annotations

import re

from .splitting import split_sentences

_MARKS = re.compile(r"\[[\d\s,;–-]*\]?")  # citation markers, the last perhaps still being written
_LETTER = re.compile(r"[^\W\d_]")
_LEADING = re.compile(r"(?:\s*\[[^\]\n]*\])*\s*")
_ITEM = re.compile(r"[ \t]*(?:[-*•]|\d{1,2}[.)]|\[\d+\])[ \t]+")  # as citations.parse reads one
_NUMBER = re.compile(r"\[(\d+)\]")


def finished(reply: str) -> int:
    """How much of a reply being written is whole lines and sentences: a sentence is whole once
    the next has begun (split as `citations.parse` splits claims: "Charles W. Eliot" is one; the
    markers after a full stop, ". [3]", belong to the sentence before)."""
    line = reply.rfind("\n") + 1
    starts = [  # where each sentence's words begin, past markers carried over from the one before
        _LEADING.match(reply, a, b).end()
        for a, b in split_sentences(reply, line, len(reply))
        if _LETTER.search(_MARKS.sub("", reply[a:b]))
    ]
    return starts[-1] if len(starts) > 1 else line


def settled(reply: str, end: int) -> int:
    """`end`, or where the list that reply[:end] ends with begins: a list is checked once
    something follows it (or with the whole reply)."""
    lines = reply[:end].splitlines(keepends=True)
    while lines and (_ITEM.match(lines[-1]) or not lines[-1].strip()):
        end -= len(lines.pop())
    return end


def in_order(text: str) -> str:
    """The lines of `text` up to the first that cites a number out of order ([1] [2] [4], with
    [3] further on)."""
    seen, at = 0, 0
    for line in text.splitlines(keepends=True):
        for n in map(int, _NUMBER.findall(line)):
            if n > seen + 1:
                return text[:at].rstrip()
            seen = max(seen, n)
        at += len(line)
    return text
