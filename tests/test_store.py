"""Real Chroma on disk (hash embedder for speed): idempotent ingest, replace, model checks."""

import pytest

from chatbot import Chatbot, StoreError
from chatbot.embeddings import HashEmbeddings
from chatbot.store import ArticleStore

from conftest import SEED


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
