"""Verification: kept when supported, re-attributed when mis-numbered, dropped when unsupported."""

from chatbot.citations import Claim, SpanChecker, parse, verify
from chatbot.splitting import Sentence

from conftest import REPO, SEED

TEXT = (REPO / SEED).read_text(encoding="utf-8")


def sent(quote: str, kind: str = "text") -> Sentence:
    start = TEXT.index(quote)
    return Sentence(SEED, start, start + len(quote), quote, kind)


LIMIT = sent("Increasing Ukraine’s military force limit to 800,000", "item")
OLD = sent("Limiting Ukraine’s armed forces to 600,000 personnel", "item")
GENEVA = sent(
    "Ukraine and several European countries requested changes, prompting new negotiations in Geneva."
)
NUMBERS = {1: OLD, 2: LIMIT, 3: GENEVA}
_REVISED = "A revised draft reportedly agreed between the U.S. and Ukraine included:"
SPANS = SpanChecker(REPO)


def test_parse_attaches_trailing_markers_and_list_lines():
    assert parse("It rose to 800,000. [2]") == [Claim("It rose to 800,000.", [2])]
    assert parse("Answer: - a [1]\n- b [2, 3]") == [Claim("a", [1], True), Claim("b", [2, 3], True)]
    assert parse("The U. S. plan [1].")[0].text == "The U.S. plan."
    assert (
        parse("It listed [24-27].")
        == parse("It listed [24]–[27].")
        == parse("It listed [24, 25-27].")
    )
    assert parse("It listed [24-27].")[0] == Claim("It listed.", [24, 25, 26, 27])
    inline = parse("A plan included: [16]–[18] A draft included: [25] Talks go on [30].")
    assert inline == [
        Claim("A plan included:", [16, 17, 18]),
        Claim("A draft included:", [25]),
        Claim("Talks go on.", [30]),
    ]


def test_a_bare_numbered_list_is_written_out_verbatim():
    intro, *items = [sent(_REVISED), *_revised_list()]
    numbers = {1: items[1], 2: items[3], 4: intro}
    a = verify("The revised draft included:\n[2] [1]", "What?", numbers, [intro], SPANS, 0.5)
    first, second = items[3].text, items[1].text
    assert a.text == f"The revised draft included [1]:\n- {first} [2]\n- {second} [3]"
    assert [c.quote for c in a.citations] == [intro.text, first, second]


def test_a_list_intro_is_a_claim_too():
    intro, *items = [sent(_REVISED), *_revised_list()]
    numbers = {1: items[1], 4: intro}
    reply = f"The plan, drafted in Paris, included:\n- {items[1].text} [1]"
    a = verify(reply, "What did the revised draft include?", numbers, [intro], SPANS, 0.5)
    assert a.text.splitlines()[0] == f"{intro.text.rstrip(':')} [1]:"  # the article's own
    assert "Paris" in a.stats.dropped[0]
    question = "What did the revised draft include?"
    unranked = verify(reply, question, numbers, [], SPANS, 0.5)  # the intro found by number
    assert unranked.text.splitlines()[0] == f"{intro.text.rstrip(':')} [1]:"
    alone = verify(reply, "What?", {1: items[1]}, [], SPANS, 0.5)  # no intro to fall back on
    assert alone.text == f"{items[1].text} [1]." and "Paris" not in alone.text


def test_supported_claim_keeps_its_citation():
    a = verify("The force limit rose to 800,000 [2].", "What changed?", NUMBERS, [], SPANS, 0.5)
    assert not a.refused and a.citations[0].quote == LIMIT.text
    assert TEXT[a.citations[0].start : a.citations[0].end] == a.citations[0].quote
    assert a.text == "The force limit rose to 800,000 [1]."


def test_misnumbered_citation_is_reattributed():
    a = verify(
        "The force limit rose to 800,000 [3].",
        "What changed?",
        NUMBERS,
        [GENEVA, LIMIT],
        SPANS,
        0.5,
    )
    assert [c.quote for c in a.citations] == [LIMIT.text]


def test_unsupported_claims_are_dropped_and_nothing_left_is_a_refusal():
    a = verify(
        "The limit was 300,000 troops [1].",
        "What was the limit?",
        NUMBERS,
        [OLD, LIMIT],
        SPANS,
        0.5,
    )
    assert a.refused and a.citations == [] and a.stats.dropped
    mixed = verify(
        "New negotiations were held in Geneva [3]. Canberra is the capital [3].",
        "Where?",
        NUMBERS,
        [GENEVA],
        SPANS,
        0.5,
    )
    assert not mixed.refused and "Canberra" not in mixed.text and "Geneva" in mixed.text


def test_model_refusal_is_a_refusal():
    assert verify("The articles don't say.", "Who?", NUMBERS, [], SPANS, 0.5).refused


def test_span_checker_rejects_a_file_changed_since_ingest(tmp_path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / SEED).write_text(TEXT.replace("800,000", "900,000"), encoding="utf-8")
    a = verify(
        "The force limit rose to 800,000 [2].",
        "What changed?",
        NUMBERS,
        [],
        SpanChecker(tmp_path),
        0.5,
    )
    assert a.refused


def test_a_citation_the_claim_does_not_need_is_pruned():
    a = verify("The force limit rose to 800,000 [2][3].", "What changed?", NUMBERS, [], SPANS, 0.5)
    assert [c.quote for c in a.citations] == [LIMIT.text]


def test_a_difference_of_two_stated_numbers_is_supported():
    q = "By how much did the revised draft raise the force limit?"
    a = verify("It raised the force limit by 200,000 [1] [2].", q, NUMBERS, [], SPANS, 0.5)
    assert not a.refused and {c.quote for c in a.citations} == {OLD.text, LIMIT.text}
    b = verify("It raised the force limit by 300,000 [1] [2].", q, NUMBERS, [], SPANS, 0.5)
    assert b.refused


def test_a_cited_item_from_another_list_is_not_written_out():
    witkoff = sent("Steve Witkoff")
    numbers = {**NUMBERS, 4: witkoff}
    initial = sent("The initial U.S. plan reportedly included:")
    old = Sentence(OLD.source, OLD.start, OLD.end, OLD.text, "item", initial.text)
    numbers[1] = old
    a = verify("The envoy was Steve Witkoff [1].", "Who?", numbers, [witkoff], SPANS, 0.5)
    assert [c.quote for c in a.citations] == ["Steve Witkoff"]


def test_prose_after_a_list_starts_a_new_line():
    geneva = "Changes prompted new negotiations in Geneva [3]."
    a = verify(f"The plan had:\n- 800,000 [2]\n{geneva}", "What?", NUMBERS, [], SPANS, 0.5)
    *_, item, blank, prose = a.text.splitlines()
    assert item.startswith("- ") and blank == ""
    assert prose == "Changes prompted new negotiations in Geneva [2]."


def _revised_list() -> list[Sentence]:
    intro = _REVISED
    lines = TEXT[TEXT.index(intro) + len(intro) :].split("\nDespite")[0].strip().splitlines()
    return [
        Sentence(SEED, s.start, s.end, s.text, "item", intro)
        for s in (sent(line.removeprefix("- ")) for line in lines)
    ]


def test_a_list_written_out_in_part_is_completed_when_the_whole_list_is_asked_for():
    items = _revised_list()
    numbers = {n: s for n, s in enumerate(items, 1)}
    reply = "The revised draft included:\n" + "\n".join(
        f"- {s.text} [{n}]" for n in (1, 2, 4) for s in [numbers[n]]
    )
    candidates = [sent(_REVISED), *items]
    whole = verify(
        reply,
        "What were the main provisions of the revised draft?",
        numbers,
        candidates,
        SPANS,
        0.5,
    )
    assert [c.quote for c in whole.citations] == [
        _REVISED,
        items[0].text,
        items[1].text,
        items[3].text,
        items[2].text,
        items[4].text,
    ]
    lines = whole.text.splitlines()
    assert lines[0] == "The revised draft included [1]:"
    assert all(x.startswith("- ") for x in lines[1:])
    assert len(lines) == 6
    # a question that picks items out is answered as the model answered it
    some = verify(
        reply,
        "Which provisions of the revised draft concern NATO?",
        numbers,
        candidates,
        SPANS,
        0.5,
    )
    assert len(some.citations) == 4  # the intro and the three items


def test_a_stray_item_cited_beside_a_specific_claim_is_not_written_out():
    items = _revised_list()
    intro = sent(items[0].context)
    old = Sentence(OLD.source, OLD.start, OLD.end, OLD.text, "item", "The initial plan:")
    numbers = {1: old, 2: items[1], 3: items[3], 4: intro}
    q = "By how much did the revised draft raise the force limit?"
    a = verify("It raised the force limit by 200,000 [1] [2] [3].", q, numbers, [], SPANS, 0.5)
    assert [c.quote for c in a.citations] == [OLD.text, items[1].text]
    # a claim resting on the list's intro brings the items it cites
    b = verify("The revised draft included these [4] [2] [3].", "What?", numbers, [], SPANS, 0.5)
    assert [c.quote for c in b.citations] == [intro.text, items[1].text, items[3].text]


def test_an_item_written_under_another_lists_intro_is_dropped():
    initial = sent("The initial U.S. plan reportedly included:")
    old = Sentence(OLD.source, OLD.start, OLD.end, OLD.text, "item", initial.text)
    revised = _revised_list()
    numbers = {1: initial, 2: old, 3: revised[3], 4: sent(_REVISED)}
    reply = f"The initial plan included:\n- {old.text} [2]\n- {revised[3].text} [3]"
    a = verify(reply, "What did the initial plan include?", numbers, [initial], SPANS, 0.5)
    assert [c.quote for c in a.citations] == [initial.text, old.text]
    assert a.stats.dropped == [revised[3].text]
    # under its own intro, the same item is kept
    reply += f"\nThe revised draft included:\n- {revised[3].text} [3]"
    b = verify(reply, "What did the plans include?", numbers, [initial, numbers[4]], SPANS, 0.5)
    assert b.text.endswith(f"included [3]:\n- {revised[3].text} [4].")


def test_a_claim_that_only_restates_the_question_answers_nothing():
    question = "Did new negotiations in Geneva follow the requested changes?"
    echo = verify(
        "New negotiations in Geneva followed the requested changes [3].",
        question,
        NUMBERS,
        [GENEVA],
        SPANS,
        0.5,
    )
    assert echo.refused and echo.stats.dropped  # every word came from the question
    said = verify(
        "Yes, new negotiations in Geneva followed the requested changes [3].",
        question,
        NUMBERS,
        [GENEVA],
        SPANS,
        0.5,
    )
    assert not said.refused and said.citations[0].quote == GENEVA.text  # a yes/no answer
    asked = verify(
        "New negotiations were held in Geneva [3].",
        "Where were new negotiations held?",
        NUMBERS,
        [GENEVA],
        SPANS,
        0.5,
    )
    assert not asked.refused  # "Geneva" is the claim's own word, and it stands in [3]


def test_a_name_stands_in_its_adjective(tmp_path):
    text = "The term was applied to Western (and Japanese) dominance in Asia."
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    s = Sentence("a.txt", 0, len(text), text)
    q = "The term was applied to Western countries and which eastern country?"
    claim = "It was applied to Western countries, and Japan [1]."
    a = verify(claim, q, {1: s}, [s], SpanChecker(tmp_path), 0.5)
    assert not a.refused and a.citations[0].quote == text
    none = verify("It was Korea [1].", "Which?", {1: s}, [s], SpanChecker(tmp_path), 0.5)
    assert none.refused  # a name the sentence holds in no form
