"""Probe for issue 10's extractive option: does the model, asked for the number of the sentence
that answers the question (or "none"), tell unanswerable questions apart?

For each question of a SQuAD split (written by `scripts/squad.py SPLIT`), the chain's own
retrieval and prompt parts are reused (`Chatbot.prepare`) with its cached system prompt (the home
article's numbered sentences), and only the question message is replaced by a prompt file of the
probe's own (`prompts/extract.txt` by default). Recorded per question: the reply, the chosen
sentences, whether one contains a gold answer (the set's containment rule), the first-token
probability of "none" against the best sentence number, and the seconds the call took.

    .venv/bin/python bench/extractive.py run tune [--prompt prompts/extract.txt] [--tag T]
    .venv/bin/python bench/extractive.py summary tune [--tag T] [--today tune-s8.jsonl]

Results go to ~/.cache/chatbot/squad/ (outside the repository; the set's data never enters it).

Measured on the tune split (Qwen2.5-1.5B, 1 thread, load 4-6; three wordings tried, the file
holds the second, which picks the gold sentence most often):
1. "Reply with only the number ... like: 3 ... or none": picks sentence 3 for 36 of 60 (the
   example's number); gold sentence 8/45; none for 1/15 unanswerable, 0/45 answerable; AUC 0.59.
2. "Which numbered sentence answers this exact question? Reply with its number in brackets ...
   If no sentence answers it (...), reply exactly: none": gold sentence 32/45; none 0/15, 0/45;
   AUC 0.58.
3. "Does one of the numbered sentences state the answer ... about the same person, place, time
   and thing, and not the opposite? If none does, reply exactly: none": gold 30/45; none 0/15,
   1/45; AUC 0.50.
No p(none) floor catches an unanswerable without losing more answerables: not built into the
chain (NOTES.md has the figures).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SQUAD = ROOT.parent / "shared" / "eval-squad"
OUT = Path.home() / ".cache" / "chatbot" / "squad"
MAX_REPLY_TOKENS = 12


def last_logits(llama) -> np.ndarray:
    """The logits of the token after the last one evaluated. llama-cpp-python 0.3.x keeps no
    scores without `logits_all`: this reads llama.cpp's own buffer through a private attribute,
    here only (a copy: the next eval overwrites it)."""
    return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()


def first_tokens(llama, words: list[str]) -> list[int]:
    return sorted({llama.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words})


def _lse(x: np.ndarray) -> float:
    m = float(x.max())
    return m + float(np.log(np.exp(x - m).sum()))


def none_probability(logits: np.ndarray, none: list[int], numbers: list[int]) -> float:
    """p("none") / (p("none") + p(a sentence number)) for the first reply token."""
    a, b = _lse(logits[none]), _lse(logits[numbers])
    return float(1 / (1 + np.exp(b - a)))


def chat_tokens(llama, messages: list[dict[str, str]]) -> list[int]:
    """The prompt tokens llama-cpp-python's chat completion would read for `messages`."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos, bos = llama.token_eos(), llama.token_bos()
    text = lambda t: llama._model.token_get_text(t) if t != -1 else ""  # noqa: E731
    fmt = Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"], eos_token=text(eos), bos_token=text(bos)
    )
    prompt = fmt(messages=messages).prompt
    return llama.tokenize(prompt.encode("utf-8"), special=True)


def pick(llm, messages: list[dict[str, str]], label: str) -> tuple[str, np.ndarray, int]:
    """Greedy reply (a few tokens), the first token's logits, and the tokens read anew; the
    article's saved prompt state is loaded and saved as `LlamaCppLLM.stream` does."""
    from chatbot import kvcache

    llama = llm.llama
    with llm.lock:
        messages = [{**m, "content": llm.plain(m["content"])} for m in messages]
        state = llm._state_file(messages, label)
        system = messages[0]["content"]
        if state is not None and system != llm.system and state.exists():
            kvcache.restore(llama, state)
        tokens = chat_tokens(llama, messages)
        same = 0
        for a, b in zip(llama._input_ids[: llama.n_tokens], tokens, strict=False):
            if a != b:
                break
            same += 1
        stop = {llama.token_eos(), *llama.tokenize(b"<|im_end|>", add_bos=False, special=True)}
        out, first = [], None
        for tok in llama.generate(tokens, temp=0.0, repeat_penalty=1.0):
            if first is None:
                first = last_logits(llama)
            if tok in stop or len(out) >= MAX_REPLY_TOKENS:
                break
            out.append(tok)
        llm.system = system
        if state is not None and not state.exists():
            kvcache.save(llama, state, llm.kv_limit)
    reply = llama.detokenize(out).decode("utf-8", "ignore").strip()
    return reply, first, len(tokens) - same


def run(args: argparse.Namespace) -> None:
    from chatbot.chain import Chatbot
    from chatbot.evaluation.runner import own_store
    from chatbot.fitting import counter_of, fit
    from chatbot.settings import Settings

    sys.path.insert(0, str(SQUAD))
    from score_squad import contains, normalize

    settings = own_store(Settings.from_env(), SQUAD / "articles")
    bot = Chatbot.from_settings(settings)
    bot.ingest([SQUAD / "articles"], progress=False)
    bot.prompts.templates["question"] = args.prompt.read_text(encoding="utf-8")
    llama = bot.llm.llama
    none = first_tokens(llama, ["none", "None", " none", "NONE"])
    numbers = first_tokens(llama, [str(d) for d in range(1, 10)] + ["["])
    gold = {g["id"]: g for g in map(json.loads, (OUT / f"{args.split}-gold.jsonl").open())}
    questions = [json.loads(x) for x in (OUT / f"{args.split}-questions.jsonl").open()]
    out = OUT / f"{args.split}-extract{'-' + args.tag if args.tag else ''}.jsonl"
    done = {json.loads(x)["id"] for x in out.open()} if out.exists() else set()
    room = settings.n_ctx - settings.max_tokens
    with out.open("a", encoding="utf-8") as f:
        for q in questions:
            if q["id"] in done:
                continue
            t0 = time.perf_counter()
            prep = bot.prepare(q["question"])
            row = {"id": q["id"], "answerable": gold[q["id"]]["answerable"]}
            if prep.parts is None:  # below the floor: the chain refuses before any prompt
                row.update(reply="(floor)", p_none=1.0, chosen=[], hit=False, seconds=0.0)
            else:
                prompt = fit(bot.prompts, prep.parts, room, counter_of(bot.llm))
                reply, logits, new = pick(bot.llm, prompt.messages, prep.label)
                picked = [int(n) for n in re.findall(r"\d+", reply)]
                chosen = [prompt.numbering[n].text for n in picked if n in prompt.numbering]
                text = normalize(" ".join(chosen))
                answers = gold[q["id"]].get("answers") or []
                row.update(
                    reply=reply,
                    p_none=round(none_probability(logits, none, numbers), 4),
                    chosen=chosen,
                    hit=bool(chosen) and any(contains(text, normalize(a)) for a in answers),
                    new_tokens=new,
                    seconds=round(time.perf_counter() - t0, 3),
                )
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            print(row["id"], row["answerable"], repr(row["reply"]), row["p_none"], row["hit"])


def said_none(row: dict) -> bool:
    return row["reply"] == "(floor)" or "none" in row["reply"].lower() or not row["chosen"]


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a positive scores above a negative), ties half."""
    pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def summary(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(SQUAD))
    from score_squad import contains, normalize

    name = f"{args.split}-extract{'-' + args.tag if args.tag else ''}.jsonl"
    rows = [json.loads(x) for x in (OUT / name).open()]
    gold = {g["id"]: g for g in map(json.loads, (OUT / f"{args.split}-gold.jsonl").open())}
    today = {r["id"]: r for r in map(json.loads, (OUT / args.today).open())}

    def right(r: dict) -> bool:
        a = normalize(r["answer"])
        return not r["refused"] and any(contains(a, normalize(t)) for t in gold[r["id"]]["answers"])

    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    secs = sorted(r["seconds"] for r in rows if r["reply"] != "(floor)")
    print(f"{name}: {len(ans)} answerable, {len(una)} unanswerable")
    print(
        f"said none: unanswerable {sum(map(said_none, una))}/{len(una)}, "
        f"answerable {sum(map(said_none, ans))}/{len(ans)}"
    )
    print(f"gold sentence chosen (answerable): {sum(r['hit'] for r in ans)}/{len(ans)}")
    print(
        f"AUC of p(none), unanswerable vs answerable: "
        f"{auc([r['p_none'] for r in una], [r['p_none'] for r in ans]):.2f}"
    )
    print(f"added seconds: p50 {secs[len(secs) // 2]:.2f}, max {secs[-1]:.2f} (n={len(secs)})")
    t_una = sum(today[r["id"]]["refused"] for r in una)
    t_fr = sum(today[r["id"]]["refused"] for r in ans)
    t_right = sum(right(today[r["id"]]) for r in ans)
    print(
        f"today ({args.today}): unanswerable refused {t_una}/{len(una)}, "
        f"false refusals {t_fr}/{len(ans)}, answerable right {t_right}/{len(ans)}"
    )
    rules = {"said none": said_none}
    for t in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        rules[f"p(none) >= {t}"] = lambda r, t=t: r["p_none"] >= t
    print(f"{'rule':18} {'alone: caught lost':>20} {'OR today: refused false right':>32}")
    for label, rule in rules.items():
        c, lost = sum(map(rule, una)), sum(map(rule, ans))
        cu = sum(rule(r) or today[r["id"]]["refused"] for r in una)
        cf = sum(rule(r) or today[r["id"]]["refused"] for r in ans)
        cr = sum(right(today[r["id"]]) and not rule(r) for r in ans)
        print(
            f"{label:18} {c:>9}/{len(una)} {lost:>6}/{len(ans)}"
            f" {cu:>15}/{len(una)} {cf:>5}/{len(ans)} {cr:>5}/{len(ans)}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["run", "summary"])
    p.add_argument("split", choices=["tune", "held", "all"])
    p.add_argument("--prompt", type=Path, default=ROOT / "prompts" / "extract.txt")
    p.add_argument("--tag", default="")
    p.add_argument(
        "--today", default="tune-s8.jsonl", help="today's results, in the scratch folder"
    )
    args = p.parse_args()
    run(args) if args.mode == "run" else summary(args)


if __name__ == "__main__":
    main()
