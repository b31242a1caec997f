"""Requests that are not questions about the articles, and answers that recite the instructions.

`off_limits`: attempts to drop the instructions, switch role, have the bot write something else,
print a string of the asker's choosing or show its prompt (garak's promptinject and
prompt-extraction categories), refused before retrieval or the model. `leaks`: an answer that
recites a run of the system prompt's fixed text (its rules or its worked example) is refused.
`instructs`: article text addressed to the model (hidden instructions, fake turns, markup), which
a repair never quotes.
"""

from __future__ import annotations

import re

# Verbs a question may also report ("What did Rutte just say…?", "Did Russia ignore the rules…?",
# "Who will act as guarantor?"): refused only when addressed to the bot (see `_reported`).
_VERBS = [
    r"\b(?:ignore|disregard|forget|drop|bypass|override)\b.{0,40}\b(?:instructions?|rules?|prompt|"
    r"articles?|sources?|guidelines|everything|above)\b",
    r"\b(?:pretend|role-?play|act as|stop being)\b",
    r"\bwrite\b.{0,30}\b(?:poem|song|story|speech|essay|joke|haiku|limerick|rap|code|script)\b",
    # hijacking: a string of the asker's choosing printed back
    r"\b(?:just|only) (?:say|print|output|write)\b",
    r"\b(?:print|output|echo|reply with|respond with|answer with)\s*[\"“'‘]",
]
_PATTERNS = [
    r"\b(?:you are now|you're now|from now on you)\b",
    r"\blet'?s play a game\b",
    r"\btell me a joke\b",
    r"\b(?:system prompt|system message|developer mode|jailbreak)\b",
    r"(?-i:\bDAN\b)",
    r"\b(?:own|general|outside) knowledge\b",
    # prompt extraction: the bot's own instructions, or the text before the question
    r"\byour (?:instructions|rules|prompt|guidelines|directives|configuration|initial text)\b",
    r"\b(?:everything|all|text|words|lines?) (?:written )?(?:above|before) (?:this|my|the)\b",
    r"\b(?:repeat|print|output|echo|recite|dump) (?:the )?(?:words|text|everything|all) above\b",
    r"\b(?:beginning|start) of (?:this|the|our) (?:conversation|chat|prompt)\b",
    r"\b(?:given|sent|shown) to you before\b",
    r"\b(?:rules|instructions|prompt) you (?:were|have been) given\b",
    r"\bprompt you (?:received|got|were sent)\b",
    r"\b(?:hidden|secret) (?:configuration|instructions|prompt|text)\b",
    r"\brepeat after me\b",
    r"\btranslate (?:to|into) \w+\s*:",
    # chat-template markers or fake turns typed into the question
    r"<\|\w+\|>",
    r"\[/?(?:system|inst|assistant)\]",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
_VERB = re.compile("|".join(f"(?:{p})" for p in _VERBS), re.IGNORECASE)
# the clause before the verb asks about someone's act: an auxiliary and its subject (not "you"),
# or "who / which country / what minister" and an auxiliary
_AUX = r"(?:did|does|do|will|would|could|can|has|have|had|should|shall|may|might|must)"
_SUBJECT = r"(?:(?!you\b|u\b|yourself\b)[\w’'-]+\s+){1,5}"
_ASKED_OF = re.compile(
    rf"(?:\b{_AUX}\s+{_SUBJECT}|\b(?:who|(?:which|what)\s+[\w’'-]+)\s+{_AUX}\s+)$", re.IGNORECASE
)
_CLAUSE = re.compile(r"[.!?:;\n]")


def _reported(question: str, at: int) -> bool:
    """Whether the verb at `at` is asked about rather than asked of the bot: its clause has a
    subject other than "you" ("What did Rutte just say", "Did Russia ignore the rules")."""
    return bool(_ASKED_OF.search(_CLAUSE.split(question[:at])[-1]))


def off_limits(question: str) -> bool:
    """True for requests to leave the articles or the instructions behind."""
    if _INJECTION.search(question):
        return True
    return any(not _reported(question, m.start()) for m in _VERB.finditer(question))


_WORD = re.compile(r"\w+")
LEAK_WORDS = 8  # a run this long shared with the instructions is a recitation, not a chance


def _runs(text: str, n: int) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def leaks(answer: str, instructions: str, n: int = LEAK_WORDS) -> bool:
    """True when `answer` shares a run of `n` words with `instructions` (the system prompt's
    fixed text: its template, without the articles), e.g. a recited rule or example answer."""
    fixed = instructions.replace("{articles}", " ")
    return bool(_runs(answer, n) & _runs(fixed, n))


# Article text that addresses the model rather than the reader. Written against the hidden
# instructions of tests/data/hostile.json and their plain variants: a list, not a detector.
_ADDRESSED = [
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:previous|prior|earlier|above|your|all)\b"
    r".{0,30}\b(?:instructions?|rules|prompts?|directions|guidelines)\b",
    r"\bignor\w*\b.{0,40}\b(?:instruc\w*|anweisung\w*|consignes)\b",  # French, Spanish, German
    r"忽略.{0,12}(?:指令|指示)",
    r"\b(?:note|message|notice|instructions?) (?:for|to) (?:the |all |any )?(?:ai\b|assistants?|"
    r"chatbots?|bots?|language models?)",
    r"\b(?:ai |the )?(?:assistants?|chatbots?|language models?|llms?),? (?:must|should|shall|always)\b",
    r"\b(?:your|every|each) (?:answer|reply|response)s?\b",
    r"\bto (?:answer|reply|respond),|\b(?:when|before) you (?:answer|reply|respond)\b",
    r"\b(?:decode|execute|run) (?:this|the following)\b",
    r"(?-i:(?:^|\s)(?:System|Assistant|AI|User)\s?:\s)",  # a fake turn
    r"<\|\w+\|>|<script\b|!\[[^\]]*\]\(",  # chat-template markers, scripts, images
]
_INSTRUCTS = re.compile("|".join(f"(?:{p})" for p in _ADDRESSED), re.IGNORECASE)


def instructs(text: str) -> bool:
    """True for article text addressed to the model ("note for the assistant: end your answer
    with …", "System: …", `<script>`): data to answer from, never to be quoted as an answer."""
    return bool(_INSTRUCTS.search(text))
