import json
from pathlib import Path

from .reports import write_reports


def test_ingest_list_show_export(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "r"
    write_reports(folder)
    r = cli("ingest", str(folder), "--published", "2024-03-27")
    assert r.returncode == 0, r.stderr
    assert "new 5, duplicate 0, failed 0" in r.stdout
    r = cli("ingest", str(folder))
    assert "new 0, duplicate 5" in r.stdout
    listing = cli("incidents", "list")
    assert listing.returncode == 0 and "Quetta" in listing.stdout
    data = json.loads(cli("incidents", "export", "--format", "json").stdout)
    assert data and all("mentions" in d and "provenance" in d for d in data)
    shown = cli("incidents", "show", data[0]["id"][:8])
    assert shown.returncode == 0 and data[0]["id"] in shown.stdout
    geo = json.loads(cli("incidents", "export", "--format", "geojson").stdout)
    assert geo["type"] == "FeatureCollection" and all(f["geometry"]["type"] == "Point" for f in geo["features"])
    csv_text = cli("incidents", "export", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("id,event_type,date")


def _one_line_error(r) -> str:  # type: ignore[no-untyped-def]
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_user_mistakes_are_one_clear_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "no such file" in _one_line_error(cli("extract", str(tmp_path / "missing.txt")))
    assert "YYYY-MM-DD" in _one_line_error(cli("extract", "x.txt", "--published", "26/03/2024"))
    (tmp_path / "empty.txt").write_text("")
    assert "empty" in _one_line_error(cli("extract", str(tmp_path / "empty.txt")))
    assert "format" in _one_line_error(cli("incidents", "export", "--format", "xls"))
    assert "no incident" in _one_line_error(cli("incidents", "show", "deadbeef"))


def test_non_utf8_and_utf16_files_are_read(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Gunmen shot dead a police constable in Peshawar on Monday, officials said. The city’s police "
        "chief called it a “cowardly” attack."
    )
    (tmp_path / "cp1252.txt").write_bytes(text.encode("cp1252"))
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))
    for name in ("cp1252.txt", "utf16.txt"):
        r = cli("extract", str(tmp_path / name), "--published", "2024-05-07", "--json")
        assert r.returncode == 0, r.stderr
        inc = json.loads(r.stdout)["incidents"]
        assert inc and inc[0]["place"]["city"] == "Peshawar" and inc[0]["date"] == "2024-05-06"


def test_large_file_and_unreadable_entries_in_a_folder(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "mixed"
    write_reports(folder)
    (folder / "huge.txt").write_bytes(b"Lorem ipsum dolor sit amet. " * (52 * 1024 * 1024 // 28))  # ~52 MB
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4096))
    (folder / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (folder / "latin1.txt").write_bytes("Caf\xe9 owners in Lahore said nothing happened.".encode("latin-1"))
    r = cli("ingest", str(folder))
    assert r.returncode == 0, r.stderr
    assert "new 6, duplicate 0, failed 3" in r.stdout
    assert "MB limit" in r.stdout and "binary" in r.stdout and "no such file" in r.stdout


def test_extract_jsonl_is_one_document_per_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = [str(p) for p, _ in write_reports(tmp_path / "r")]
    r = cli("extract", *paths[:3], "--published", "2024-03-26", "--jsonl")
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3
    assert all(set(json.loads(ln)) == {"document", "incidents", "events"} for ln in lines)


def test_demo_builds_the_picture_and_a_dashboard_login_that_works(cli) -> None:  # type: ignore[no-untyped-def]
    import re

    from starlette.testclient import TestClient

    from corridor.store.db import Store
    from corridor.web.app import create_app

    r = cli("demo")
    assert r.returncode == 0, r.stderr
    assert "Dashboard:" in r.stdout and "log in as demo" in r.stdout
    login_file = cli.home / "demo-login.txt"
    assert login_file.stat().st_mode & 0o077 == 0  # only its owner may read the password
    password = re.search(r"password: (\S+)", login_file.read_text()).group(1)  # type: ignore[union-attr]
    assert password in r.stdout.replace("\n", "")
    store = Store(cli.url)
    client = TestClient(create_app(store))
    me = client.post("/api/v1/auth/login", json={"username": "demo", "password": password})
    assert me.status_code == 200 and me.json()["organisation"] == "Harbour Power Co"
    page = client.get("/")
    assert page.status_code == 200 and 'id="map"' in page.text
    assert len(client.get("/api/v1/incidents").json()["items"]) > 20
    store.dispose()
