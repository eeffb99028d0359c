import codecs
from pathlib import Path

import pytest

from corridor.ingest.reader import InputError, decode, read_path, sniff_kind

TEXT = "A blast near the Quetta railway station killed 26 people on Saturday, officials said."


def test_utf8_and_legacy_encodings_decode(tmp_path: Path) -> None:
    assert decode(TEXT.encode("utf-8")) == TEXT
    cp = "Officials in Karāchi said the café “was closed”."
    assert "closed" in decode(cp.encode("cp1252", errors="replace"))
    assert decode(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")) == TEXT
    assert decode(codecs.BOM_UTF8 + TEXT.encode("utf-8")) == TEXT


def test_empty_and_binary_inputs_are_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        decode(b"   \n ")
    with pytest.raises(InputError, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


def test_size_limit_is_a_clear_error(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * (11 * 1024 * 1024 // 5))
    with pytest.raises(InputError, match="MB limit"):
        read_path(big, max_bytes=8 * 1024 * 1024)


def test_missing_and_directory_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_path(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="directory"):
        read_path(tmp_path)


def test_kind_is_sniffed_from_content() -> None:
    assert sniff_kind("<!DOCTYPE html><html><body>x</body></html>") == "html"
    assert sniff_kind('<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>') == "feed"
    assert sniff_kind(TEXT) == "text"


def test_feed_items_become_documents(tmp_path: Path) -> None:
    items = "".join(
        f"<item><title>Report {i}</title><link>https://news.example.org/{i}</link>"
        f"<pubDate>Sat, 09 Nov 2024 10:00:00 +0500</pubDate><description>{TEXT} ({i})</description></item>"
        for i in range(3)
    )
    feed = tmp_path / "feed.xml"
    feed.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test Wire</title>{items}</channel></rss>',
        encoding="utf-8",
    )
    docs = read_path(feed)
    assert [d.url for d in docs] == [f"https://news.example.org/{i}" for i in range(3)]
    assert len({d.sha256 for d in docs}) == 3
    assert all(d.published and d.published.isoformat() == "2024-11-09" for d in docs)
    assert docs[0].outlet == "Test Wire"
