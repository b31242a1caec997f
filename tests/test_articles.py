import pytest

from chatbot.articles import find_article_files, load_article
from chatbot.errors import InputError
from chatbot.splitting import sentences_of, split_article


def test_bad_files_are_clear_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "pic.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match="empty"):
        load_article(tmp_path / "empty.txt", tmp_path)
    with pytest.raises(InputError, match="not UTF-8"):
        load_article(tmp_path / "latin1.txt", tmp_path)
    with pytest.raises(InputError, match=r"only \.txt, \.md, \.html"):
        load_article(tmp_path / "pic.png", tmp_path)
    with pytest.raises(InputError, match="no such file"):
        find_article_files([tmp_path / "missing.txt"])


def test_source_is_relative_to_root_and_text_is_exact(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.md").write_bytes(b"Line one.\r\nLine two.\n")
    article = load_article(tmp_path / "a" / "x.md", tmp_path)
    assert article.source == "a/x.md"
    assert article.text == "Line one.\r\nLine two.\n"  # no newline translation


FRONT = (
    "---\n"
    'title: "Harbour reopens: a timeline"\n'
    "date: 2024-03-05\n"
    "tags:\n"
    "  - ports\n"
    "---\n"
    "\n"
    "The harbour of Tillbury reopened on Monday.\n"
    "Repairs cost 3 million euros.\n"
)


def test_front_matter_gives_title_and_date_and_is_not_content(tmp_path):
    (tmp_path / "harbour.md").write_text(FRONT, encoding="utf-8")
    article = load_article(tmp_path / "harbour.md", tmp_path)
    assert (article.title, article.date) == ("Harbour reopens: a timeline", "2024-03-05")
    assert article.text == FRONT  # kept whole: offsets index the file as stored
    sentences = sentences_of(split_article(article))
    assert [s.text for s in sentences] == [
        "The harbour of Tillbury reopened on Monday.",
        "Repairs cost 3 million euros.",
    ]
    assert all(FRONT[s.start : s.end] == s.text for s in sentences)


def test_without_front_matter_the_title_is_the_first_heading_or_line(tmp_path):
    (tmp_path / "a.md").write_text("By Jane Doe\n\n## Council votes\n\nThe vote.\n")
    (tmp_path / "b.txt").write_text("\n\n  Harbour news  \nThe harbour reopened.\n")
    (tmp_path / "c.txt").write_text("---\nnot: front: matter, no closing line\nText.\n")
    assert load_article(tmp_path / "a.md", tmp_path).title == "Council votes"
    assert load_article(tmp_path / "b.txt", tmp_path).title == "Harbour news"
    c = load_article(tmp_path / "c.txt", tmp_path)
    assert (c.title, c.date) == ("---", "")
    long = "word " * 40
    (tmp_path / "d.txt").write_text(long)
    title = load_article(tmp_path / "d.txt", tmp_path).title
    assert len(title) <= 80 and title.endswith("word…")


def test_front_matter_without_text_is_an_error(tmp_path):
    (tmp_path / "x.txt").write_text("---\ntitle: Only a title\n---\n\n")
    with pytest.raises(InputError, match="front matter but no text"):
        load_article(tmp_path / "x.txt", tmp_path)
