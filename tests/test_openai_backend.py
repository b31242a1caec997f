"""The OpenAI-compatible backend over real HTTP: a tiny streaming chat-completions server on
127.0.0.1 stands in for Ollama / vLLM / llama.cpp server."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from chatbot import Chatbot, ConfigError, ModelError
from chatbot.models import make_llm

from conftest import assert_spans_exact


class Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), **body}
        )
        prompt = "\n".join(m["content"] for m in body["messages"])
        n = re.search(r"\[(\d+)\]\s+- Increasing", prompt).group(1)
        reply = f"The revised draft raised the military force limit to 800,000 [{n}]."
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in re.findall(r"\S+\s*", reply):
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        usage = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": body["model"],
            "choices": [],
            "usage": {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333},
        }
        self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_backend_streams_and_answers_are_verified(settings, root, endpoint):
    s = settings.with_(
        llm="openai", openai_base_url=endpoint, openai_model="qwen-test", openai_api_key="k1"
    )
    bot = Chatbot.from_settings(s)
    bot.ingest([root / "seeds"], progress=False)
    answer = bot.ask("What changed in the revised draft?")
    assert not answer.refused and "800,000" in answer.text
    assert answer.citations[0].quote == "Increasing Ukraine’s military force limit to 800,000"
    assert_spans_exact(answer.to_dict(), root)
    assert (answer.stats.prompt_tokens, answer.stats.completion_tokens) == (321, 12)
    req = Handler.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["model"] == "qwen-test" and req["stream"]
    assert req["auth"] == "Bearer k1" and req["messages"][0]["role"] == "system"


def test_openai_backend_needs_its_settings_and_reports_a_dead_endpoint(settings):
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        make_llm(settings.with_(llm="openai"))
    dead = make_llm(
        settings.with_(llm="openai", openai_base_url="http://127.0.0.1:9/v1", openai_model="m")
    )
    with pytest.raises(ModelError, match="endpoint failed"):
        list(dead.stream([{"role": "user", "content": "hi"}], 5))
