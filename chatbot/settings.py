"""One frozen settings object, read from the environment once and passed explicitly."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from .errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def _number(env: dict[str, str], name: str, default: T, cast: Callable[[str], T]) -> T:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        return cast(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number ({cast.__name__}), got {raw!r}") from None


def pick(registry: dict[str, T], name: str, what: str) -> T:
    """The registry entry called `name`, or a ConfigError that lists the choices."""
    try:
        return registry[name]
    except KeyError:
        raise ConfigError(f"unknown {what} {name!r}; choose one of {', '.join(registry)}") from None


@dataclass(frozen=True)
class Settings:
    """Everything configurable. `Settings.from_env()` reads CHATBOT_* variables once."""

    root: Path = ROOT
    store_dir: Path = ROOT / "vectorstore"
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000 to use a Chroma server
    collection: str = "articles"
    prompts_dir: Path = ROOT / "prompts"
    seeds_dir: Path = ROOT / "seeds"
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "chatbot")
    embedder: str = "minilm"  # minilm | hash
    llm: str = "qwen"  # qwen | smollm2 | gguf | openai | fake
    gguf_path: str = ""  # with llm=gguf
    openai_base_url: str = ""
    openai_model: str = ""
    openai_api_key: str = ""
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 200
    relevance_floor: float = 0.30  # off-topic questions score under 0.25, answerable ones over 0.32
    retrieve_k: int = 16  # sentences kept after fusion (~2,000 characters)
    show_k: int = 3  # best sentences (with their whole lists) pointed at next to the question
    shown_text_tokens: int = 60  # of those, written out in full up to this many tokens
    context_passages: int = 4  # passages shown when the store does not fit the prompt
    corpus_token_budget: int = 2500  # an article (or the whole store) in the system prompt
    kv_cache_mb: int = 2048  # saved prompt states on disk (~40 MB an article), LRU beyond this
    # the repair stage (repairs.REPAIRS), in its order; CHATBOT_REPAIRS=name,name to measure some
    repairs: tuple[str, ...] = (
        "grounded",
        "premise",
        "quoted",
        "closest",
        "changes",
        "named_premise",
    )
    support_threshold: float = (
        0.5  # share of an answer sentence's content words the quote must hold
    )
    api_key: str = field(default="", repr=False)  # `serve`: needed by every route but /health
    serve_queue: int = 4  # `serve`: requests waiting for the model beyond the one it answers
    serve_timeout_s: float = 120.0  # `serve`: one request's limit, waiting included
    fake_delay_s: float = 0.0  # the fake model waits this long before replying (tests of `serve`)
    bank_questions: int = 12  # questions the model writes (and the chain answers) per article bank
    ingest_dirs: tuple[Path, ...] = ()  # folders besides `root` that articles may come from
    max_article_bytes: int = 5_000_000  # an article file's size limit
    write_timeout_s: float = 600.0  # waiting for another process's write to the store
    api_url: str = ""  # the UI asks a running `serve` at this URL instead of a model in-process

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        root = Path(e.get("CHATBOT_ROOT", str(ROOT))).resolve()
        base = cls()
        return cls(
            root=root,
            store_dir=Path(e.get("CHATBOT_STORE_DIR", str(root / "vectorstore"))),
            chroma_url=e.get("CHATBOT_CHROMA_URL", ""),
            collection=e.get("CHATBOT_COLLECTION", base.collection),
            prompts_dir=Path(e.get("CHATBOT_PROMPTS_DIR", str(root / "prompts"))),
            seeds_dir=Path(e.get("CHATBOT_SEEDS_DIR", str(root / "seeds"))),
            cache_dir=Path(e.get("CHATBOT_CACHE_DIR", str(base.cache_dir))),
            embedder=e.get("CHATBOT_EMBEDDER", base.embedder),
            llm=e.get("CHATBOT_LLM", base.llm),
            gguf_path=e.get("CHATBOT_GGUF", ""),
            openai_base_url=e.get("OPENAI_BASE_URL", ""),
            openai_model=e.get("CHATBOT_OPENAI_MODEL", ""),
            openai_api_key=e.get("OPENAI_API_KEY", ""),
            n_ctx=_number(e, "CHATBOT_N_CTX", base.n_ctx, int),
            n_threads=_number(e, "CHATBOT_THREADS", base.n_threads, int),
            max_tokens=_number(e, "CHATBOT_MAX_TOKENS", base.max_tokens, int),
            relevance_floor=_number(e, "CHATBOT_RELEVANCE_FLOOR", base.relevance_floor, float),
            corpus_token_budget=_number(e, "CHATBOT_CORPUS_TOKENS", base.corpus_token_budget, int),
            shown_text_tokens=_number(e, "CHATBOT_SHOWN_TOKENS", base.shown_text_tokens, int),
            kv_cache_mb=_number(e, "CHATBOT_KV_CACHE_MB", base.kv_cache_mb, int),
            repairs=tuple(x for x in e.get("CHATBOT_REPAIRS", "").split(",") if x) or base.repairs,
            api_key=e.get("CHATBOT_API_KEY", ""),
            serve_queue=_number(e, "CHATBOT_SERVE_QUEUE", base.serve_queue, int),
            serve_timeout_s=_number(e, "CHATBOT_SERVE_TIMEOUT", base.serve_timeout_s, float),
            fake_delay_s=_number(e, "CHATBOT_FAKE_DELAY", base.fake_delay_s, float),
            bank_questions=_number(e, "CHATBOT_BANK_QUESTIONS", base.bank_questions, int),
            ingest_dirs=tuple(
                Path(x) for x in e.get("CHATBOT_INGEST_DIRS", "").split(os.pathsep) if x
            ),
            max_article_bytes=_number(e, "CHATBOT_MAX_ARTICLE_BYTES", base.max_article_bytes, int),
            write_timeout_s=_number(e, "CHATBOT_WRITE_TIMEOUT", base.write_timeout_s, float),
            api_url=e.get("CHATBOT_API_URL", "").rstrip("/"),
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests and benchmarks use this)."""
        return replace(self, **changes)
