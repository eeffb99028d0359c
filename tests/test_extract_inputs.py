"""`corridor extract` on every kind of input the contract names, good and bad."""

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.extract.pipeline import extract_raw
from corridor.ingest.fetch import fetch_url
from corridor.ingest.reader import InputError, read_bytes, read_path

PAGE = (
    "<!DOCTYPE html><html><head><title>Gunmen attack police post in Bannu</title>"
    "<meta property='article:published_time' content='2024-07-16T09:00:00+05:00'></head><body>"
    "<nav>Home | Pakistan | World</nav><article><h1>Gunmen attack police post in Bannu</h1>"
    "<p>Gunmen attacked a police post in Bannu on Monday night, killing two policemen and wounding three "
    "others, officials said on Tuesday.</p><p>The attackers fled after an exchange of fire that lasted about "
    "an hour, the district police officer told reporters in the city.</p></article>"
    "<aside><h3>Trending</h3><ul><li>Six killed in Kurram clash</li></ul></aside></body></html>"
)


@pytest.fixture
def server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/report":
                body = PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_extract_from_url_on_loopback(server: str) -> None:
    raws = fetch_url(server + "/report")
    res = extract_raw(raws[0])
    assert res.document.url == server + "/report"
    assert str(res.document.published) == "2024-07-16"  # from the page's own metadata
    assert len(res.incidents) == 1
    inc = res.incidents[0]
    assert inc.place.city == "Bannu" and inc.killed_total == 2 and inc.injured_total == 3
    assert inc.date == "2024-07-15"


def test_http_error_is_clear(server: str) -> None:
    with pytest.raises(InputError, match="HTTP 404"):
        fetch_url(server + "/missing")


def test_cli_extract_url(cli, server: str) -> None:  # type: ignore[no-untyped-def]
    r = cli("extract", server + "/report", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["incidents"][0]["place"]["city"] == "Bannu"


def test_truncated_html_still_extracts() -> None:
    cut = PAGE[: PAGE.index("exchange of fire")]
    res = extract_raw(next(read_bytes(cut.encode(), path="cut.html")))
    assert res.incidents and res.incidents[0].place.city == "Bannu"


def test_text_without_incident_gives_empty_result() -> None:
    res = extract_raw(next(read_bytes(b"The cabinet approved the budget for the Gwadar port expansion on Monday.")))
    assert res.incidents == []


def test_feed_with_ten_thousand_items_is_read(tmp_path: Path) -> None:
    item = (
        "<item><title>Blast in Quetta {i}</title><link>https://news.example.org/{i}</link>"
        "<pubDate>Sat, 09 Nov 2024 10:00:00 +0500</pubDate><description>A bomb went off in Quetta on Saturday, "
        "killing {k} people.</description></item>"
    )
    items = "".join(item.format(i=i, k=i % 9 + 1) for i in range(10_000))
    feed = tmp_path / "big.rss"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>')
    t0 = time.perf_counter()
    docs = read_path(feed)
    assert len(docs) == 10_000 and len({d.sha256 for d in docs}) == 10_000
    sample = [extract_raw(d) for d in docs[:200]]
    assert all(r.incidents and r.incidents[0].place.city == "Quetta" for r in sample)
    assert sample[5].incidents[0].killed_total == 6
    assert time.perf_counter() - t0 < 120


def test_fifty_megabyte_text_is_refused_with_a_reason(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        for _ in range(50):
            fh.write(b"A quiet day in Gwadar. " * (1024 * 1024 // 23 + 1))
    with pytest.raises(InputError, match="MB limit"):
        read_path(big, max_bytes=8 * 1024 * 1024)
    (tmp_path / "not-a-feed.xml").write_text("<rss><channel><item><title>x")
    docs = read_path(tmp_path / "not-a-feed.xml")  # a broken feed still yields what it has, or a clear error
    assert isinstance(docs, list)


def test_malformed_page_metadata_does_not_stop_extraction(caplog: pytest.LogCaptureFixture) -> None:
    broken = PAGE.replace("2024-07-16T09:00:00+05:00", "2024-07-16T09:00:00+28:00")
    res = extract_raw(next(read_bytes(broken.encode(), path="broken.html")))
    assert res.incidents and res.incidents[0].place.city == "Bannu"
