"""Real Chroma on disk (hash embedder for speed): idempotent ingest, replace, model checks."""

import pytest

from chatbot import Chatbot, StoreError
from chatbot.embeddings import HashEmbeddings
from chatbot.store import ArticleStore

from conftest import SEED, run_cli


def test_ingest_is_idempotent_and_replaces_changed_files(settings, root):
    bot = Chatbot.from_settings(settings)
    assert bot.ingest([root / "seeds"], progress=False) == [(SEED, "added")]
    n = bot.store.count()
    assert bot.ingest([root / "seeds"], progress=False) == [(SEED, "unchanged")]
    assert bot.store.count() == n
    path = root / SEED
    path.write_text(path.read_text(encoding="utf-8") + "\nA new closing sentence was added.\n")
    assert bot.ingest([path], progress=False) == [(SEED, "replaced")]
    assert bot.store.count() == n + 1
    assert bot.store.remove(SEED) == n + 1 and bot.store.count() == 0


def test_store_persists_on_disk(settings, root):
    Chatbot.from_settings(settings).ingest([root / "seeds"], progress=False)
    again = ArticleStore(settings, HashEmbeddings())
    assert again.articles() == {SEED: 34}
    assert all(
        root.joinpath(s.source).read_text()[s.start : s.end] == s.text for s in again.sentences()
    )


def test_opening_with_another_embedding_model_is_an_error(settings, root):
    Chatbot.from_settings(settings).ingest([root / "seeds"], progress=False)
    with pytest.raises(StoreError, match="built with hash-256"):
        ArticleStore(settings, HashEmbeddings(dim=128))


def test_a_bad_file_among_good_ones_changes_nothing(settings, root):
    (root / "seeds" / "broken.txt").write_bytes(b"\xff\xfe bad")
    bot = Chatbot.from_settings(settings)
    with pytest.raises(Exception, match="not UTF-8"):
        bot.ingest([root / "seeds"], progress=False)
    assert bot.store.count() == 0


def test_the_same_text_under_two_names_is_two_articles(settings, root):
    (root / "seeds" / "copy.txt").write_text(
        (root / SEED).read_text(encoding="utf-8"), encoding="utf-8"
    )
    bot = Chatbot.from_settings(settings)
    bot.ingest([root / "seeds"], progress=False)
    assert bot.store.articles() == {"seeds/copy.txt": 34, SEED: 34}


def other_process(root, *args: str) -> None:
    """Run the CLI in a separate process on the same store (as a second app or a shell would)."""
    run = run_cli(root, *args)
    assert run.returncode == 0, run.stderr


HARBOUR = (
    "Harbour news\n\nThe harbour of Tillbury reopened on Monday after the storm.\n"
    "Repairs to the north pier cost 3 million euros, the port authority said.\n"
)


def test_another_process_ingest_and_removal_are_seen_on_the_next_question(fake_bot, root):
    """A running chatbot (store, BM25 and dense index all open) sees another process's ingest
    and removal on its next question, without a restart."""
    bot = fake_bot
    question = "How much did the repairs to the north pier of the harbour cost?"
    before = bot.store.revision()
    assert all(c.source == SEED for c in bot.ask(question).citations)

    (root / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    other_process(root, "ingest", "--quiet", "harbour.txt")
    assert bot.store.revision() != before
    answer = bot.ask(question)
    assert answer.citations[0].source == "harbour.txt", answer.to_dict()
    assert "3 million euros" in answer.citations[0].quote
    dense = bot.store.search(bot.store.embeddings.embed_query(question), 3)
    assert dense[0][0].source == "harbour.txt"  # the vector index too, not only BM25
    assert set(bot.store.articles()) == {SEED, "harbour.txt"}

    other_process(root, "articles", "remove", "harbour.txt")
    answer = bot.ask(question)
    assert all(c.source == SEED for c in answer.citations + answer.stats.retrieved)
    assert set(bot.store.articles()) == {SEED}
    dense = bot.store.search(bot.store.embeddings.embed_query(question), 50)
    assert {s.source for s, _ in dense} == {SEED}


def test_the_revision_changes_on_every_write_and_keeps_the_model_check(settings, root):
    store = ArticleStore(settings, HashEmbeddings())
    seen = {store.revision()}
    bot = Chatbot.from_settings(settings, store=store)
    bot.ingest([root / "seeds"], progress=False)
    seen.add(store.revision())
    bot.ingest([root / "seeds"], progress=False)  # unchanged: no new revision
    assert store.revision() in seen and len(seen) == 2
    assert store.remove(SEED) == 34
    seen.add(store.revision())
    assert store.remove(SEED) == 0  # nothing removed: no new revision
    assert store.revision() in seen and len(seen) == 3
    assert store.removed() == {SEED}  # noted in the shared metadata, for a later folder ingest
    assert bot.ingest([root / "seeds"], progress=False, skip_removed=True) == [(SEED, "skipped")]
    assert store.count() == 0 and store.revision() in seen
    assert bot.ingest([root / "seeds"], progress=False) == [(SEED, "added")]
    assert store.removed() == set()
    meta = store.client.get_collection(settings.collection).metadata
    assert (meta["embedding_model"], meta["dimension"]) == ("hash-256", 256)
    with pytest.raises(StoreError, match="built with hash-256"):
        ArticleStore(settings, HashEmbeddings(dim=128))
    assert store.db._collection.configuration["hnsw"]["space"] == "cosine"


def test_a_new_process_loads_the_saved_snapshot_instead_of_deriving_it(settings, root, monkeypatch):
    from chatbot import snapshot

    bot = Chatbot.from_settings(settings)
    bot.ingest([root / "seeds"], progress=False)
    first = bot.store.sentences()
    (saved,) = (settings.store_dir / "snapshots").glob("*.pickle")

    def derive(*args):
        raise AssertionError("derived again")

    monkeypatch.setattr(snapshot, "build", derive)
    again = ArticleStore(settings, HashEmbeddings())  # as a new process would open it
    assert again.sentences() == first and again.keyword_index()[0] is not None
    monkeypatch.undo()

    (root / "seeds" / "more.txt").write_text("Ferries to Lunde Island return on 1 May.\n")
    bot.ingest([root / "seeds"], progress=False)
    assert len(again.sentences()) == len(first) + 1  # a new revision is derived, not the old
    (newer,) = (settings.store_dir / "snapshots").glob("*.pickle")
    assert newer != saved  # the old revision's file is gone
    newer.write_bytes(b"cut short")
    assert len(ArticleStore(settings, HashEmbeddings()).sentences()) == len(first) + 1
