"""The records a question produces: Citation and Answer, and the JSON shape other tools read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

REFUSAL = "The articles don't say."
PREMISE = "The articles don't state {number}. They say: “{quote}” [1]."
STATEMENT = "The articles say: {quotes}"
DECLINED = "The articles don't say. What they say on this: {quotes}"


@dataclass(frozen=True)
class Citation:
    """An exact span of an article file: `quote == text[start:end]`."""

    source: str
    start: int
    end: int
    quote: str


@dataclass
class Stats:
    """How the answer was produced; not part of the JSON contract."""

    latency_s: float = 0.0
    ttft_s: float | None = None  # time to the model's first token
    prompt_tokens: int = 0
    completion_tokens: int = 0
    raw: str = ""  # the model's unverified reply
    best_cosine: float = 0.0
    retrieved: list[Citation] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # answer sentences that failed verification


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    refused: bool
    stats: Stats = field(default_factory=Stats)

    def to_dict(self) -> dict:
        """The stable JSON shape: answer, refused, citations[source, start, end, quote]."""
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [asdict(c) for c in self.citations],
        }

    @classmethod
    def refusal(cls, stats: Stats | None = None) -> Answer:
        return cls(REFUSAL, [], True, stats or Stats())
