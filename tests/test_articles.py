import pytest

from chatbot.articles import find_article_files, load_article
from chatbot.errors import InputError


def test_bad_files_are_clear_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "pic.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match="empty"):
        load_article(tmp_path / "empty.txt", tmp_path)
    with pytest.raises(InputError, match="not UTF-8"):
        load_article(tmp_path / "latin1.txt", tmp_path)
    with pytest.raises(InputError, match=r"only \.txt and \.md"):
        load_article(tmp_path / "pic.png", tmp_path)
    with pytest.raises(InputError, match="no such file"):
        find_article_files([tmp_path / "missing.txt"])


def test_source_is_relative_to_root_and_text_is_exact(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.md").write_bytes(b"Line one.\r\nLine two.\n")
    article = load_article(tmp_path / "a" / "x.md", tmp_path)
    assert article.source == "a/x.md"
    assert article.text == "Line one.\r\nLine two.\n"  # no newline translation
