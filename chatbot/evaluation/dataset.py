"""Question-set files (.jsonl): one pydantic-checked item a line; gold fields are optional."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import InputError


class GoldSpan(BaseModel):
    source: str
    quote: str


class EvalItem(BaseModel):
    id: str
    question: str
    history: list[tuple[str, str]] = []
    article: str | None = None  # ask this article only (a source as `articles list` shows it)
    category: str = "uncategorised"
    expect_refusal: bool | None = None
    # a false premise: a refusal that states the required facts (the correction) is right too
    correction: bool = False
    required_facts: list[list[str]] = []  # every group must match; any string of a group will do
    gold_spans: list[GoldSpan] = []

    @property
    def scored(self) -> bool:
        return self.expect_refusal is not None


def read_jsonl(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{n}: not JSON ({exc.msg})") from None
    return rows


def load_items(path: Path) -> list[EvalItem]:
    items = []
    for n, row in enumerate(read_jsonl(path), 1):
        try:
            items.append(EvalItem.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise InputError(f"{path}: item {n}: {where}: {first['msg']}") from None
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: ids are not unique")
    return items
