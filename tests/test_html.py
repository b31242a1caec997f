"""HTML ingest: real-looking pages (navigation, scripts, cookie banner, comments, footer) keep
their main text only, written beside the page; spans index that stored text exactly."""

from __future__ import annotations

import pytest

from chatbot import Chatbot, InputError
from chatbot.articles import find_article_files, load_article

from conftest import make_settings

CHROME = (
    "We use cookies",
    "Accept all",
    "Sign in",
    "Subscribe",
    "dataLayer",
    "trackPageview",
    "Most read",
    "Celebrity wedding",
    "All rights reserved",
    "Privacy policy",
    "Great article, thanks",
    "color:",
)

NEWS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tillbury harbour reopens after storm | The Riverton Gazette</title>
  <meta property="og:title" content="Tillbury harbour reopens after storm">
  <meta property="og:site_name" content="The Riverton Gazette">
  <meta name="author" content="Jane Doe">
  <meta property="article:published_time" content="2024-03-05T08:00:00+01:00">
  <link rel="stylesheet" href="/static/site.css">
  <style>.nav a { color: #333 } .cookie { position: fixed }</style>
  <script>window.dataLayer = window.dataLayer || []; function trackPageview() {}</script>
  <script type="application/ld+json">{"@type": "NewsArticle", "headline": "Tillbury harbour"}</script>
</head>
<body>
  <div id="cookie-banner" class="cookie consent">
    <p>We use cookies to give you the best experience on our site.</p>
    <button>Accept all</button> <button>Manage preferences</button>
  </div>
  <header class="site-header">
    <a class="logo" href="/">The Riverton Gazette</a>
    <nav class="nav"><ul>
      <li><a href="/news">News</a></li><li><a href="/business">Business</a></li>
      <li><a href="/sport">Sport</a></li><li><a href="/login">Sign in</a></li>
      <li><a href="/subscribe">Subscribe</a></li>
    </ul></nav>
  </header>
  <main>
    <nav class="breadcrumbs"><a href="/">Home</a> › <a href="/news">News</a></nav>
    <article>
      <h1>Tillbury harbour reopens after storm</h1>
      <p class="byline">By <a href="/authors/jane-doe">Jane Doe</a> · 5 March 2024</p>
      <p>The harbour of Tillbury reopened on Monday after last week's storm closed it for six
         days, the port authority said.</p>
      <p>Repairs to the north pier cost 3 million euros. Ferry services to the islands resumed at
         noon, and the first cargo ship docked an hour later.</p>
      <h2>Fishermen count the losses</h2>
      <p>“We lost two weeks of work,” said Ana Silva, who chairs the local fishermen's
         association. The association has asked the regional government for 400,000 euros in
         compensation.</p>
      <p>The port authority expects traffic to return to normal by Friday.</p>
    </article>
    <section class="comments">
      <h3>Comments</h3>
      <div class="comment"><p>Great article, thanks for the update!</p></div>
    </section>
  </main>
  <aside class="sidebar">
    <h3>Most read</h3>
    <ul><li><a href="/a">Celebrity wedding photos</a></li><li><a href="/b">Ten best beaches</a></li></ul>
  </aside>
  <footer>
    <p>© 2024 The Riverton Gazette. All rights reserved.</p>
    <a href="/privacy">Privacy policy</a> · <a href="/terms">Terms</a>
  </footer>
  <script>trackPageview(); document.getElementById("cookie-banner").hidden = false;</script>
</body>
</html>
"""

# an older page: latin-1 bytes, a table layout, no <article>, a dated <time>
LATIN1_PAGE = """<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">
<title>Café owners welcome the new market hall - Riverton Gazette</title>
<script>var adSlots = ["top", "side"]; function trackPageview() {}</script>
</head><body>
<div class="cookie-notice">We use cookies. <a href="#">Accept all</a></div>
<table width="100%"><tr>
<td class="menu" width="150"><a href="/">Home</a><br><a href="/login">Sign in</a><br>
<a href="/subscribe">Subscribe</a></td>
<td class="content">
<h1>Café owners welcome the new market hall</h1>
<p>Published <time datetime="2023-11-20">20 November 2023</time></p>
<p>The new market hall on Quay Street opened its doors on Saturday with forty stalls.</p>
<p>Café owners in the old town said the hall would bring more visitors to the area. The
council spent 2.5 million euros on the building, which was a disused warehouse until 2021.</p>
<p>The hall will be open from Tuesday to Sunday, from eight in the morning.</p>
</td></tr></table>
<div class="footer">© 2023 Riverton Gazette. All rights reserved. <a href="/privacy">Privacy policy</a></div>
</body></html>
""".encode("latin-1")


def write_pages(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "harbour.html").write_text(NEWS_PAGE, encoding="utf-8")
    (folder / "market.htm").write_bytes(LATIN1_PAGE)


def check_stored(bot: Chatbot, root) -> dict[str, str]:
    """Every stored sentence is text[start:end] of the file its source names; those texts."""
    texts = {}
    for s in bot.store.sentences():
        text = texts.setdefault(s.source, (root / s.source).read_bytes().decode("utf-8"))
        assert text[s.start : s.end] == s.text, s
    return texts


def test_pages_keep_their_main_text_only_and_spans_index_the_stored_text(settings, root):
    write_pages(root / "pages")
    bot = Chatbot.from_settings(settings)
    assert bot.ingest([root / "pages"], progress=False) == [
        ("pages/harbour.html.txt", "added"),
        ("pages/market.htm.txt", "added"),
    ]
    texts = check_stored(bot, root)
    assert set(texts) == {"pages/harbour.html.txt", "pages/market.htm.txt"}
    harbour, market = texts["pages/harbour.html.txt"], texts["pages/market.htm.txt"]
    assert "Repairs to the north pier cost 3 million euros." in harbour
    assert "for 400,000 euros in compensation" in " ".join(harbour.split())
    assert "Café owners in the old town" in market  # latin-1 page, stored as UTF-8
    for text in (harbour, market):
        for chrome in CHROME:
            assert chrome not in text, chrome
    stored = " ".join(s.text for s in bot.store.sentences())
    assert not any(chrome in stored for chrome in CHROME)

    listed = {a.source: a for a in bot.store.catalog()}
    assert listed["pages/harbour.html.txt"].title == "Tillbury harbour reopens after storm"
    assert listed["pages/harbour.html.txt"].date == "2024-03-05"
    assert listed["pages/harbour.html.txt"].origin == "pages/harbour.html"
    assert listed["pages/market.htm.txt"].title.startswith("Café owners welcome")
    assert listed["pages/market.htm.txt"].date == "2023-11-20"

    answer = bot.ask("How much did the repairs to the north pier cost?").to_dict()
    cited = answer["citations"][0]
    assert cited["source"] == "pages/harbour.html.txt"
    assert harbour[cited["start"] : cited["end"]] == cited["quote"]


def test_reingest_is_unchanged_and_the_extracted_text_is_not_a_second_article(settings, root):
    write_pages(root / "pages")
    bot = Chatbot.from_settings(settings)
    bot.ingest([root / "pages"], progress=False)
    extracted = root / "pages" / "harbour.html.txt"
    mtime = extracted.stat().st_mtime_ns
    assert sorted(p.name for p in (root / "pages").iterdir()) == [
        "harbour.html",
        "harbour.html.txt",
        "market.htm",
        "market.htm.txt",
    ]
    # the folder again, the page by name, and its extracted text by name: all the same article
    again = bot.ingest([root / "pages", root / "pages" / "harbour.html", extracted], False)
    assert again == [("pages/harbour.html.txt", "unchanged"), ("pages/market.htm.txt", "unchanged")]
    assert extracted.stat().st_mtime_ns == mtime  # not rewritten
    assert len(bot.store.articles()) == 2

    page = root / "pages" / "harbour.html"
    page.write_text(NEWS_PAGE.replace("six\n         days", "seven days"), encoding="utf-8")
    assert bot.ingest([page], progress=False) == [("pages/harbour.html.txt", "replaced")]
    assert "closed it for seven days" in extracted.read_text(encoding="utf-8")
    check_stored(bot, root)


def test_a_page_without_article_text_is_one_clear_error(settings, root):
    page = root / "empty.html"
    page.write_text(
        "<html><head><title>Loading…</title><script>var app = 1;</script></head>"
        "<body><div id='root'></div><script src='/bundle.js'></script></body></html>",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"empty\.html: no article text found in the page"):
        load_article(page, root)
    bot = Chatbot.from_settings(settings)
    write_pages(root / "pages")
    with pytest.raises(InputError):  # checked before anything is written
        bot.ingest([root / "pages", page], progress=False)
    assert bot.store.count() == 0 and not (root / "pages" / "harbour.html.txt").exists()


def test_an_extracted_text_whose_page_is_gone_is_an_ordinary_text(root):
    (root / "notes.html.txt").write_text("Notes\n\nA plain text file.\n", encoding="utf-8")
    assert find_article_files([root]) == [
        root / "notes.html.txt",
        root / "seeds" / "nato-ministers-peace-plan.txt",
    ]


@pytest.mark.slow
def test_html_ingest_with_the_real_embedder(root):
    settings = make_settings(root, embedder="minilm")
    write_pages(root / "pages")
    bot = Chatbot.from_settings(settings)
    bot.ingest([root / "pages"], progress=False)
    texts = check_stored(bot, root)
    found = bot.retriever.retrieve("How much did fixing the pier cost?", 4)
    best = found.hits[0].sentence
    assert best.source == "pages/harbour.html.txt" and "3 million euros" in best.text
    assert texts[best.source][best.start : best.end] == best.text
    assert found.best_cosine > settings.relevance_floor
