"""`corridor` command line. Thin: parse input, call a service, render output.

User mistakes (missing file, unreadable encoding, bad date) end with one clear line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corridor.cli import brief, groups, intake, ops_admin, share_sync
from corridor.config import load_settings
from corridor.extract.actors import ConfigError
from corridor.ingest.reader import InputError
from corridor.store.visibility import SYSTEM

app = typer.Typer(
    name="corridor",
    help="Protective-security information exchange: incidents, risk, SOPs, alerts, sharing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
incidents_app = typer.Typer(help="The incident picture: list, show, export.", no_args_is_help=True)
gazetteer_app = typer.Typer(help="The bundled gazetteer.", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")
app.add_typer(gazetteer_app, name="gazetteer")
app.command("brief")(brief.brief)
app.command("backup")(ops_admin.backup)
app.command("restore")(ops_admin.restore)
app.add_typer(groups.app, name="groups")
app.command("watch")(intake.watch)
app.command("worker")(intake.worker)
app.command("backfill")(intake.backfill)
app.add_typer(intake.queue_app, name="queue")

out = Console()
if not out.is_terminal and out.width < 160:
    out = Console(width=160)  # piped or under make: room for the incident table
err = Console(stderr=True)


class UserError(Exception):
    """A mistake in what the user asked for; shown as one line."""


def _date(value: str | None, flag: str = "--published") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{flag}: {value!r} is not a date in YYYY-MM-DD form") from None


def _store():
    from corridor.store.db import Store
    from corridor.store.seed import seed_actors

    settings = load_settings()
    store = Store(settings.database_url)
    store.upgrade()
    with store.transaction() as session:
        seed_actors(session)
    return store, settings


@app.command()
def init() -> None:
    """Create (or upgrade) the store and load reference data."""
    _, settings = _store()
    out.print(f"store ready: {settings.display_url}")


@app.command()
def extract(
    paths: Annotated[list[str], typer.Argument(help="Files (.txt, .html, RSS/Atom) or http(s) URLs.")],
    published: Annotated[str | None, typer.Option(help="Publication date YYYY-MM-DD.")] = None,
    url: Annotated[str | None, typer.Option(help="The document's URL, when reading a file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (a list for several documents).")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON document per line.")] = False,
) -> None:
    """Extract incidents from reports and print them, without touching the store."""
    from corridor.extract.pipeline import extract_raw
    from corridor.ingest.fetch import fetch_url
    from corridor.ingest.reader import read_path

    pub = _date(published)
    settings = load_settings()
    results = []
    for p in paths:
        if p.startswith(("http://", "https://")):
            raws = fetch_url(p, max_bytes=settings.max_document_bytes)
        else:
            raws = read_path(Path(p), max_bytes=settings.max_document_bytes)
        for raw in raws:
            if url and len(paths) == 1:
                raw.url = url
            results.append(extract_raw(raw, pub).to_json_obj())
    if jsonl:
        for r in results:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif as_json:
        sys.stdout.write(json.dumps(results[0] if len(results) == 1 else results, indent=2, ensure_ascii=False) + "\n")
    else:
        for r in results:
            _print_extraction(r)


def _print_extraction(r: dict) -> None:
    doc = r["document"]
    out.print(
        f"[bold]{doc.get('title') or doc.get('path') or doc.get('url')}[/] "
        f"(published {doc.get('published') or 'unknown'})"
    )
    if not r["incidents"]:
        out.print("  no incidents")
    for inc in r["incidents"]:
        pl = inc["place"]
        out.print(
            f"  • {inc['event_type']} {inc['date'] or 'date unknown'} at {pl.get('name') or '?'} "
            f"({pl.get('province') or pl.get('country') or '?'}): killed {inc['killed_total']}, injured "
            f"{inc['injured_total']}, foreign {inc['killed_foreign']}/{inc['injured_foreign']} "
            f"{inc['foreign_nationality'] or ''} perpetrator {inc['perpetrator']} "
            f"{'new' if inc['is_new'] else 'earlier incident'}"
        )
    for ev in r["events"]:
        out.print(f"  ◦ {ev['kind']} {ev['date'] or ''} {ev['place'] or ''}: {ev['summary'][:100]}")


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to ingest.")] = None,
    manifest: Annotated[Path | None, typer.Option(help="JSONL: {path, url, outlet, published} per line.")] = None,
    published: Annotated[str | None, typer.Option(help="Publication date YYYY-MM-DD for all PATHS.")] = None,
) -> None:
    """Ingest reports: extract incidents, store documents and mentions, merge incidents."""
    from corridor.ingest.service import Item, ingest_items, items_from_paths, read_manifest

    pub = _date(published)
    items: list[Item] = []
    if manifest:
        items += read_manifest(manifest)
    if paths:
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise UserError(f"{missing[0]}: no such file or directory")
        items += items_from_paths(paths, pub)
    if not items:
        raise UserError("nothing to ingest: give PATHS or --manifest")
    store, settings = _store()
    report = _run_ingest(store, items, settings.max_document_bytes, ingest_items)
    _print_ingest_summary(report)
    if report.failed and len(report.failed) == len(report.outcomes):
        raise typer.Exit(1)


def _run_ingest(store, items, max_bytes, ingest_items):
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task("", total=len(items))
        seen: set[str] = set()

        def tick(o):
            key = o.where
            if key not in seen:
                seen.add(key)
                progress.update(task, advance=1, description=Path(key).name[:40])

        return ingest_items(store, items, max_bytes=max_bytes, progress=tick)


def _print_ingest_summary(report) -> None:
    out.print(f"new {report.count('new')}, duplicate {report.count('duplicate')}, failed {report.count('failed')}")
    for o in report.failed:
        out.print(f"  [red]failed[/] {o.reason}")


@incidents_app.command("list")
def incidents_list(
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    province: Annotated[str | None, typer.Option()] = None,
    event_type: Annotated[str | None, typer.Option("--type")] = None,
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
) -> None:
    """The incident picture as a table, newest first."""
    from corridor.store.queries import IncidentFilter, list_incidents

    f = IncidentFilter(
        since=_date(since, "--since"),
        until=_date(until, "--until"),
        province=province,
        event_type=event_type,
        limit=limit,
    )
    store, _ = _store()
    with store.sessions() as session:
        rows = list_incidents(session, SYSTEM, f)
        out.print(incident_table(rows))


def incident_table(rows) -> Table:
    from corridor.export import incident_record

    t = Table(title=f"Incident picture ({len(rows)} incidents)", show_lines=False)
    for col in (
        "id",
        "date",
        "place",
        "type",
        "killed",
        "injured",
        "foreign victims",
        "perpetrator",
        "sources",
    ):
        t.add_column(col, overflow="fold")
    for inc in rows:
        r = incident_record(inc)
        names = [r["place_name"], r["city"], r["province"]]
        place = ", ".join(dict.fromkeys(x for x in names if x))  # "Clifton, Karachi, Sindh"
        foreign = ""
        if inc.killed_foreign or inc.injured_foreign:
            foreign = (
                f"{inc.killed_foreign or 0} killed / {inc.injured_foreign or 0} injured {inc.foreign_nationality or ''}"
            )
        t.add_row(
            inc.id[:8],
            r["date"] or "?",
            place or "?",
            inc.event_type,
            _n(inc.killed_total),
            _n(inc.injured_total),
            foreign.strip(),
            inc.perpetrator or "",
            f"{len(r['sources'])}: " + ", ".join(r["sources"][:3]) + ("…" if len(r["sources"]) > 3 else ""),
        )
    return t


def _n(v: int | None) -> str:
    return "–" if v is None else str(v)


@incidents_app.command("show")
def incidents_show(
    ident: Annotated[str, typer.Argument(help="Incident id or a unique prefix of it.")],
) -> None:
    """One incident with every source's figures and the evidence sentences."""
    from corridor.export import incident_record
    from corridor.store.queries import get_incident

    store, _ = _store()
    with store.sessions() as session:
        inc = get_incident(session, SYSTEM, ident)
        if inc is None:
            raise UserError(f"no incident with id {ident!r}")
        out.print_json(json.dumps(incident_record(inc, detail=True), default=str, ensure_ascii=False))


@incidents_app.command("export")
def incidents_export(
    fmt: Annotated[str, typer.Option("--format", help="csv, geojson or json")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default stdout).")] = None,
) -> None:
    """Export the incident picture."""
    from corridor.export import EXPORTERS
    from corridor.store.queries import list_incidents

    if fmt not in EXPORTERS:
        raise UserError(f"--format: {fmt!r} is not one of {', '.join(EXPORTERS)}")
    store, _ = _store()
    with store.sessions() as session:
        text = EXPORTERS[fmt](list_incidents(session, SYSTEM))
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@gazetteer_app.command("lookup")
def gazetteer_lookup(name: str) -> None:
    """Every place a name may mean, most likely first, with its hierarchy."""
    from corridor.geo import get_gazetteer

    cands = get_gazetteer().lookup(name)
    if not cands:
        raise UserError(f"no place called {name!r} in the gazetteer")
    t = Table()
    for col in ("name", "kind", "city", "district", "province", "country", "lat", "lon"):
        t.add_column(col)
    for p in cands:
        t.add_row(
            p.name,
            p.kind,
            p.city or "",
            p.district or "",
            p.province or "",
            p.country,
            f"{p.lat:.4f}" if p.lat is not None else "",
            f"{p.lon:.4f}" if p.lon is not None else "",
        )
    out.print(t)


orgs_app = typer.Typer(help="Organisations of the exchange.", no_args_is_help=True)
users_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for programs.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")


def _identity(fn):
    """Run an identity change in one transaction, turning refusals into one-line errors."""
    from corridor.identity.service import IdentityError

    store, _ = _store()
    try:
        with store.transaction() as session:
            return fn(session)
    except IdentityError as exc:
        raise UserError(str(exc)) from None


@orgs_app.command("add")
def orgs_add(
    name: str, kind: Annotated[str, typer.Option(help="agency, company, embassy or other")] = "company"
) -> None:
    """Add an organisation."""
    from corridor.identity.service import add_org
    from corridor.store import audit

    if kind not in ("agency", "company", "embassy", "other"):
        raise UserError(f"--kind: {kind!r} is not one of agency, company, embassy, other")

    def run(session):
        org = add_org(session, name, kind)
        audit.record(session, SYSTEM, "org.create", "organisation", org.id, None, {"name": name})
        return org.id

    out.print(f"organisation {name} ({kind}): {_identity(run)}")


@orgs_app.command("list")
def orgs_list() -> None:
    import sqlalchemy as sa

    from corridor.store.tables import Organisation

    store, _ = _store()
    with store.sessions() as session:
        for o in session.scalars(sa.select(Organisation).order_by(Organisation.name)):
            out.print(f"{o.id}  {o.name}  ({o.kind})")


@users_app.command("add")
def users_add(
    username: str,
    org: Annotated[str, typer.Option(help="Organisation name or id.")],
    role: Annotated[str, typer.Option(help="admin, analyst, coordinator, staff or partner-readonly")],
    password_env: Annotated[
        str, typer.Option(help="Read the password from this environment variable (never from the command line).")
    ] = "CORRIDOR_PASSWORD",
) -> None:
    """Add a user; the password comes from an environment variable or is asked for."""
    import os

    from corridor.identity.service import add_user, find_org
    from corridor.store import audit

    password = os.environ.get(password_env) or typer.prompt("password", hide_input=True, confirmation_prompt=True)

    def run(session):
        user = add_user(session, find_org(session, org), username, role, password)
        audit.record(session, SYSTEM, "user.create", "user", user.id, None, {"username": username, "role": role})
        return user.id

    out.print(f"user {username} ({role}): {_identity(run)}")


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    scope: Annotated[list[str] | None, typer.Option(help="read, write, admin (repeatable)")] = None,
    days: Annotated[int, typer.Option(help="Days until it expires (0: never).")] = 90,
) -> None:
    """Create an API token for a user; the token is printed once."""
    from datetime import timedelta

    import sqlalchemy as sa

    from corridor.identity.service import IdentityError, create_token
    from corridor.store import audit
    from corridor.store.tables import User

    def run(session):
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise IdentityError(f"no user {username!r}")
        issued = create_token(session, user, name, scope or ["read"], timedelta(days=days) if days else None)
        audit.record(session, SYSTEM, "token.create", "token", issued.record.id, None, {"user": username})
        return issued.token

    sys.stdout.write(_identity(run) + "\n")


@tokens_app.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by id."""
    from corridor.identity.service import revoke_token
    from corridor.store import audit

    def run(session):
        revoke_token(session, token_id)
        audit.record(session, SYSTEM, "token.revoke", "token", token_id, None)

    _identity(run)
    out.print(f"revoked {token_id}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if an entry was changed, removed or reordered."""
    from corridor.store.audit import verify

    store, _ = _store()
    with store.sessions() as session:
        result = verify(session)
    if result.ok:
        out.print(f"audit log intact: {result.entries} entries")
        return
    sys.stderr.write(f"error: audit log broken at entry {result.first_bad}: {result.reason}\n")
    raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8765,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the port.")] = 1,
    log_format: Annotated[
        str | None,
        typer.Option(envvar="CORRIDOR_LOG_FORMAT", help="text (default) or json: one JSON object per line on stderr."),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(envvar="CORRIDOR_FORWARDED_ALLOW_IPS", help="Reverse proxies whose X-Forwarded-* to trust."),
    ] = None,
) -> None:
    """Run the web API, TAXII server and dashboard under uvicorn (docs/deploy.md: probes, metrics, logs)."""
    from corridor.web.serving import run_server

    _store()
    try:
        run_server(host, port, workers, log_format, forwarded_allow_ips=forwarded_allow_ips)
    except ValueError as exc:
        raise UserError(str(exc)) from None


risk_app = typer.Typer(help="Risk of places and areas (Hawkes model on an h3 grid); backtests.", no_args_is_help=True)
app.add_typer(risk_app, name="risk")


def _risk_model():
    """The risk model over the bundled history and the store's incidents."""
    import sqlalchemy as sa

    from corridor.risk.service import Incident as RiskIncident
    from corridor.risk.service import build_model
    from corridor.store.queries import incidents_query

    store, _ = _store()
    extra = []
    with store.sessions() as session:
        q = incidents_query(SYSTEM).where(sa.and_(sa.text("lat IS NOT NULL"), sa.text("date IS NOT NULL")))
        for inc in session.scalars(q):
            if inc.status == "retracted" or inc.date_precision == "year" or inc.lat is None or inc.lon is None:
                continue
            day = inc.date if inc.date_precision == "day" else inc.date.replace(day=15)
            extra.append(
                RiskIncident(
                    inc.id,
                    day,
                    inc.lat,
                    inc.lon,
                    inc.city or inc.place_name or "?",
                    inc.event_type,
                    inc.killed_total,
                    bool(inc.killed_foreign or inc.injured_foreign),
                    "store",
                )
            )
    return build_model(extra)


def _where(text: str) -> tuple[float, float, str]:
    from corridor.geo import get_gazetteer

    parts = text.split(",")
    if len(parts) == 2:
        try:
            return float(parts[0]), float(parts[1]), text
        except ValueError:
            pass
    found = [p for p in get_gazetteer().lookup(text) if p.is_domestic and p.lat is not None]
    if not found:
        raise UserError(f"{text!r} is neither LAT,LON nor a place in Pakistan's gazetteer")
    p = found[0]
    assert p.lat is not None and p.lon is not None
    return p.lat, p.lon, f"{p.name} ({p.district or p.province})"


@risk_app.command("at")
def risk_at(
    where: Annotated[str, typer.Argument(help="LAT,LON or a place name")],
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today)")] = None,
) -> None:
    """Rating 1-5 of a place on a day, with the incidents that raised it."""
    from corridor.clock import now
    from corridor.risk.service import RiskError

    lat, lon, label = _where(where)
    day = _date(on, "--date") or now().date()
    try:
        r = _risk_model().rate(lat, lon, day)
    except RiskError as exc:
        raise UserError(str(exc)) from None
    out.print(
        f"[bold]{label}[/] on {r['date']}: rating {r['rating']} ({r['label']}) — "
        f"{r['expected_attacks_per_year_within_25km']} attacks/year expected within 25 km "
        f"(background {r['background_share']:.0%}, trend {r['trend']})"
    )
    for x in r["raised_by"]:
        out.print(
            f"  raised by {x['date']} {x['event_type']} at {x['place']} ({x['distance_km']} km): {x['share']:.0%}"
        )


@risk_app.command("area")
def risk_area(
    name: Annotated[str, typer.Argument(help="Province or district")],
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today)")] = None,
) -> None:
    """Rating of a province or district: the mean over its cells, its worst cell, the spread of ratings."""
    from corridor.clock import now
    from corridor.risk.service import RiskError

    day = _date(on, "--date") or now().date()
    try:
        r = _risk_model().area(name, day)
    except RiskError as exc:
        raise UserError(str(exc)) from None
    out.print_json(json.dumps(r))


@risk_app.command("route")
def risk_route(
    start: Annotated[str, typer.Argument(help="From: a town, facility or LAT,LON")],
    end: Annotated[str, typer.Argument(help="To")],
    via: Annotated[list[str] | None, typer.Option(help="Through (repeatable)")] = None,
    depart: Annotated[str | None, typer.Option(help="Departure, YYYY-MM-DDTHH:MM (local time)")] = None,
    on: Annotated[str | None, typer.Option("--date", help="Day of travel (default: departure day or today)")] = None,
    least_risk: Annotated[bool, typer.Option("--least-risk", help="Least-risk path instead of shortest")] = False,
) -> None:
    """Rate a road route: exposure per km, worst segment, travel time."""
    from datetime import datetime

    from corridor.clock import now
    from corridor.geo.roads import RoadError, get_network
    from corridor.risk.routes import plan
    from corridor.risk.service import RiskError

    dep = None
    if depart:
        try:
            dep = datetime.fromisoformat(depart)
        except ValueError:
            raise UserError(f"--depart: {depart!r} is not YYYY-MM-DDTHH:MM") from None
    day = _date(on, "--date") or (dep.date() if dep else now().date())
    try:
        r = plan(_risk_model(), get_network(), start, end, day, via=via or [], depart=dep, least_risk=least_risk)
    except (RiskError, RoadError) as exc:
        raise UserError(str(exc)) from None
    w = r["worst_segment"]
    out.print(
        f"[bold]{r['from']} → {r['to']}[/] ({'least-risk' if least_risk else 'shortest'}): {r['km']} km, "
        f"{r['hours']} h; rating {r['rating']} ({r['label']}), exposure "
        f"{r['exposure_attacks_per_year_within_25km']} attacks/year within 25 km"
    )
    out.print(
        f"  worst segment: {w['road']} {w['between'][0]} – {w['between'][1]}: rating {w['rating']} ({w['label']})"
    )
    if dep is not None:
        out.print(
            f"  depart {r['depart']}, arrive {r['arrive']}"
            + ("; [red]travels at night[/]" if r["night_travel"] else "")
        )
    t = Table()
    for col in ("from", "to", "road", "km", "rating"):
        t.add_column(col)
    for leg in r["legs"]:
        t.add_row(leg["from"], leg["to"], leg["road"], str(leg["km"]), str(leg["rating"]))
    out.print(t)


@risk_app.command("backtest")
def risk_backtest(
    cutoff: Annotated[str, typer.Option(help="Fit before this date (YYYY-MM-DD)")] = "2024-01-01",
    months: Annotated[int, typer.Option(help="Months scored after the cutoff")] = 12,
) -> None:
    """Fit before the cutoff, score the following months against baselines."""
    from corridor.risk.service import RiskError, backtest

    cut = _date(cutoff, "--cutoff")
    assert cut is not None
    try:
        b = backtest(cut, months)
    except RiskError as exc:
        raise UserError(str(exc)) from None
    out.print(f"fit on {b.train_events} incidents before {b.cutoff}; scored {b.test_events} until {b.until}")
    out.print("parameters: " + ", ".join(f"{k} {v:.3g}" for k, v in b.params.items()))
    t = Table(title="predictive log-likelihood per event (higher is better) and hit rates")
    for col in ("model", "log-lik/event", "hits @1%", "hits @5%", "hits @10%"):
        t.add_column(col)
    for name in ("hawkes", "kde", "province", "uniform"):
        hits = b.hit_rate.get(name, {})
        t.add_row(
            name,
            f"{b.loglik_per_event[name]:.3f}",
            *(f"{hits.get(k, float('nan')):.3f}" if hits else "–" for k in ("1%", "5%", "10%")),
        )
    out.print(t)


sites_app = typer.Typer(help="Protected sites.", no_args_is_help=True)
people_app = typer.Typer(help="Protected people (personal data: stays in its organisation).", no_args_is_help=True)
movements_app = typer.Typer(help="Movements under the SOPs, with their approval workflow.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts near incidents: list, acknowledge, escalate, deliver.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")
app.add_typer(people_app, name="people")
app.add_typer(movements_app, name="movements")
app.add_typer(alerts_app, name="alerts")


def _as_org(session, org: str):
    """The local operator acting for one organisation (its security manager's rights)."""
    from corridor.identity.service import IdentityError, find_org
    from corridor.store.visibility import Viewer

    try:
        o = find_org(session, org)
    except IdentityError as exc:
        raise UserError(str(exc)) from None
    return Viewer(user_id=None, org_id=o.id, role="admin")


def _import(kind: str, path: Path, org: str) -> None:
    from corridor.ops.service import OpsError, import_csv

    if not path.exists():
        raise UserError(f"{path}: no such file")
    store, _ = _store()
    try:
        with store.transaction() as session:
            report = import_csv(session, _as_org(session, org), kind, path.read_text(encoding="utf-8"))
    except OpsError as exc:
        raise UserError(f"{path}: {exc}") from None
    out.print(f"{kind}: {report.created} imported, {len(report.errors)} rejected")
    for e in report.errors:
        out.print(f"  {path}:{e}", markup=False)


@sites_app.command("import")
def sites_import(path: Path, org: Annotated[str, typer.Option(help="Organisation")]) -> None:
    """Import sites from CSV (name,lat,lon,kind,radius_m,security_force); bad rows are listed, good ones kept."""
    _import("sites", path, org)


@sites_app.command("list")
def sites_list(org: Annotated[str, typer.Option(help="Organisation")]) -> None:
    import sqlalchemy as sa

    from corridor.store.tables import Site

    store, _ = _store()
    with store.sessions() as session:
        viewer = _as_org(session, org)
        for s in session.scalars(sa.select(Site).where(Site.org_id == viewer.org_id).order_by(Site.name)):
            out.print(f"{s.id[:8]}  {s.name} ({s.kind}) {s.lat:.4f},{s.lon:.4f} {s.security_force or ''}")


@people_app.command("import")
def people_import(path: Path, org: Annotated[str, typer.Option(help="Organisation")]) -> None:
    """Import people from CSV (name,nationality,site,phone,email,emergency_contact)."""
    _import("people", path, org)


share_app = typer.Typer(help="Exchange with other organisations: STIX 2.1 bundles under TLP 2.0.", no_args_is_help=True)
app.add_typer(share_app, name="share")
share_app.command("sync")(share_sync.sync)


@share_app.command("export")
def share_export(
    org: Annotated[str, typer.Option(help="Export what this organisation may see and pass on")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """A STIX 2.1 bundle of the incidents the organisation may pass on (CLEAR, GREEN, AMBER), validated."""
    from corridor.share.stix import export_bundle, validate

    store, _ = _store()
    with store.sessions() as session:
        bundle = export_bundle(session, _as_org(session, org))
    errors = validate(bundle)
    if errors:
        raise UserError("exported bundle does not validate: " + "; ".join(errors[:3]))
    text = json.dumps(bundle, indent=2, ensure_ascii=False)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}: {len(bundle['objects'])} objects")
    else:
        sys.stdout.write(text + "\n")


@share_app.command("import")
def share_import(path: Path, org: Annotated[str, typer.Option(help="The importing organisation")]) -> None:
    """Import a STIX 2.1 bundle (all or nothing: a malformed bundle stores nothing)."""
    from corridor.share.stix import StixError, import_bundle

    if not path.exists():
        raise UserError(f"{path}: no such file")
    store, _ = _store()
    try:
        with store.transaction() as session:
            ids = import_bundle(session, _as_org(session, org), path.read_bytes())
    except StixError as exc:
        raise UserError(f"{path}: {exc}") from None
    out.print(f"{len(ids)} incidents imported")


# Options shared by `share pull` and `share push`.
RemoteArg = Annotated[str, typer.Argument(help="TAXII discovery URL of the other server")]
TokenEnvOpt = Annotated[str, typer.Option(help="Environment variable holding the remote API token")]
CollectionOpt = Annotated[str | None, typer.Option(help="Collection title or id")]


def _remote(url: str, token_env: str, collection: str | None):
    import os

    from corridor.share.sync import Remote

    token = os.environ.get(token_env)
    if not token:
        raise UserError(f"set {token_env} to an API token of the remote server")
    return Remote(url=url, token=token, collection=collection)


@share_app.command("pull")
def share_pull(
    remote: RemoteArg,
    org: Annotated[str, typer.Option(help="The importing organisation")],
    token_env: TokenEnvOpt = "CORRIDOR_REMOTE_TOKEN",
    collection: CollectionOpt = None,
) -> None:
    """Import a remote TAXII collection (idempotent: re-pulls add new versions only)."""
    from corridor.share.stix import StixError
    from corridor.share.sync import pull

    rem = _remote(remote, token_env, collection)
    store, _ = _store()
    try:
        with store.transaction() as session:
            n = pull(session, _as_org(session, org), rem)
    except (StixError, ValueError, OSError) as exc:
        raise UserError(f"{remote}: {exc}") from None
    out.print(f"{n} incidents pulled from {remote}")


@share_app.command("push")
def share_push(
    remote: RemoteArg,
    org: Annotated[str, typer.Option(help="Push what this organisation may pass on")],
    token_env: TokenEnvOpt = "CORRIDOR_REMOTE_TOKEN",
    collection: CollectionOpt = None,
) -> None:
    """Send the organisation's shareable incidents (never AMBER+STRICT or RED) to a remote collection."""
    from corridor.share.sync import push

    rem = _remote(remote, token_env, collection)
    store, _ = _store()
    try:
        with store.sessions() as session:
            status = push(session, _as_org(session, org), rem)
    except (ValueError, OSError) as exc:
        raise UserError(f"{remote}: {exc}") from None
    out.print(f"pushed to {remote}: {status}")


sop_app = typer.Typer(help="Standard operating procedures (rules as YAML).", no_args_is_help=True)
app.add_typer(sop_app, name="sop")


@sop_app.command("check")
def sop_check(path: Path) -> None:
    """Validate a rule file: each rule, or the file, line and reason it fails on."""
    from corridor.ops.sop import SopError, load_rules

    try:
        rules = load_rules(path)
    except SopError as exc:
        raise UserError(str(exc)) from None
    for r in rules:
        out.print(f"{r.source}: {r.id} — {r.title}")
    out.print(f"{len(rules)} rules valid")


@sop_app.command("install")
def sop_install(path: Path, org: Annotated[str, typer.Option(help="Organisation")]) -> None:
    """Make a validated rule file the organisation's own rules (on top of the default set)."""
    from corridor.ops.sop import SopError, install

    store, settings = _store()
    with store.sessions() as session:
        viewer = _as_org(session, org)
    try:
        rules = install(path, settings.home, viewer.org_id or "")
    except SopError as exc:
        raise UserError(str(exc)) from None
    out.print(f"{len(rules)} rules installed for {org}")


@people_app.command("export")
def people_export(name: str, org: Annotated[str, typer.Option(help="Organisation")]) -> None:
    """Everything held on a person, as JSON (subject-access request)."""
    import sqlalchemy as sa

    from corridor.ops.service import export_person
    from corridor.store.tables import Person

    store, _ = _store()
    with store.transaction() as session:
        viewer = _as_org(session, org)
        pid = session.scalar(sa.select(Person.id).where(Person.org_id == viewer.org_id, Person.name == name))
        if pid is None:
            raise UserError(f"no person {name!r} in {org}")
        data = export_person(session, viewer, pid)
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@people_app.command("erase")
def people_erase(name: str, org: Annotated[str, typer.Option(help="Organisation")]) -> None:
    """Erase a person on request: the record, their alerts, their place on movements."""
    import sqlalchemy as sa

    from corridor.ops.service import erase_person
    from corridor.store.tables import Person

    store, _ = _store()
    with store.transaction() as session:
        viewer = _as_org(session, org)
        pid = session.scalar(sa.select(Person.id).where(Person.org_id == viewer.org_id, Person.name == name))
        if pid is None:
            raise UserError(f"no person {name!r} in {org}")
        erase_person(session, viewer, pid)
    out.print(f"erased {name}")


@sites_app.command("details")
def details_import(path: Path, org: Annotated[str, typer.Option(help="Organisation")]) -> None:
    """Import escort units and vehicles from CSV (name,kind,force,armoured,capacity)."""
    _import("details", path, org)


@movements_app.command("escalate")
def movements_escalate() -> None:
    """Escalate movements under way that missed a check-in (once each)."""
    from corridor.ops.service import escalate_overdue

    store, _ = _store()
    with store.transaction() as session:
        late = escalate_overdue(session)
    out.print(f"{len(late)} movements escalated for missed check-ins")
    for m in late:
        out.print(f"  {m.id[:8]} {m.origin} → {m.destination}, last check-in {m.last_check_in}")


@movements_app.command("request")
def movements_request(
    org: Annotated[str, typer.Option(help="Organisation")],
    start: Annotated[str, typer.Option("--from")],
    end: Annotated[str, typer.Option("--to")],
    depart: Annotated[str, typer.Option(help="YYYY-MM-DDTHH:MM, Pakistan time")],
    person: Annotated[list[str], typer.Option(help="A person's name (repeatable)")],
    kind: Annotated[str, typer.Option(help="road, airport_transfer or site_visit")] = "road",
    escort: Annotated[str | None, typer.Option()] = None,
    armoured: Annotated[bool, typer.Option("--armoured")] = False,
    notice_hours: Annotated[float | None, typer.Option(help="Notice given this many hours before departure")] = None,
    check_in: Annotated[int | None, typer.Option(help="Check-in interval, minutes")] = None,
) -> None:
    """Request a movement and show its evaluation against the SOPs and the route's risk."""
    from datetime import datetime, timedelta

    import sqlalchemy as sa

    from corridor.geo.roads import RoadError, get_network
    from corridor.ops.service import LOCAL, OpsError, evaluate_movement, request_movement
    from corridor.risk.service import RiskError
    from corridor.store.tables import Person

    try:
        dep = datetime.fromisoformat(depart).replace(tzinfo=LOCAL)
    except ValueError:
        raise UserError(f"--depart: {depart!r} is not YYYY-MM-DDTHH:MM") from None
    store, _ = _store()
    try:
        with store.transaction() as session:
            viewer = _as_org(session, org)
            ids = []
            for name in person:
                found = session.scalar(sa.select(Person.id).where(Person.org_id == viewer.org_id, Person.name == name))
                if found is None:
                    raise UserError(f"no person {name!r} in {org}")
                ids.append(found)
            mv = request_movement(
                session,
                viewer,
                kind,
                start,
                end,
                dep,
                ids,
                vehicles=[{"name": "vehicle 1", "armoured": armoured}],
                escort=escort,
                notice_given_at=dep - timedelta(hours=notice_hours) if notice_hours else None,
                check_in_minutes=check_in,
            )
            ev = evaluate_movement(session, mv, _risk_model(), get_network())
    except (OpsError, RiskError, RoadError) as exc:
        raise UserError(str(exc)) from None
    _print_evaluation(mv.id, ev)


def _print_evaluation(movement_id: str, ev: dict) -> None:
    r = ev["route"]
    out.print(
        f"movement {movement_id[:8]}: {r['from']} → {r['to']}, {r['km']} km, {r['hours']} h, route rating "
        f"{r['rating']} ({r['label']}); worst segment {r['worst_segment']['road']} "
        f"{' – '.join(r['worst_segment']['between'])}"
    )
    out.print("[green]meets every SOP that applies[/]" if ev["compliant"] else "[red]does not meet the SOPs[/]")
    for rule in ev["rules"]:
        mark = "✓" if rule["met"] else "✗"
        out.print(f"  {mark} {rule['title']}" + ("" if rule["met"] else f": missing {'; '.join(rule['missing'])}"))


@alerts_app.command("list")
def alerts_list(
    org: Annotated[str, typer.Option(help="Organisation")], status: Annotated[str | None, typer.Option()] = None
) -> None:
    import sqlalchemy as sa

    from corridor.store.tables import Alert

    store, _ = _store()
    with store.sessions() as session:
        viewer = _as_org(session, org)
        q = sa.select(Alert).where(Alert.org_id == viewer.org_id)
        if status:
            q = q.where(Alert.status == status)
        for a in session.scalars(q.order_by(Alert.created_at.desc())):
            out.print(f"{a.id[:8]} {a.status:12s} {a.target_kind:8s} {a.reason}", markup=False)


@alerts_app.command("escalate")
def alerts_escalate(after_minutes: Annotated[int, typer.Option(help="Open longer than this")] = 30) -> None:
    """Escalate unanswered alerts to the organisations' security managers."""
    from datetime import timedelta

    from corridor.ops.service import escalate

    store, _ = _store()
    with store.transaction() as session:
        n = len(escalate(session, timedelta(minutes=after_minutes)))
    out.print(f"{n} alerts escalated")


@alerts_app.command("deliver")
def alerts_deliver() -> None:
    """Send undelivered alerts by e-mail (CORRIDOR_SMTP_HOST/PORT/FROM) and to signed webhooks."""
    import os

    import sqlalchemy as sa

    from corridor.ops.notify import SmtpSettings, deliver
    from corridor.store.tables import Alert

    smtp = (
        SmtpSettings(
            os.environ["CORRIDOR_SMTP_HOST"],
            int(os.environ.get("CORRIDOR_SMTP_PORT", "25")),
            os.environ.get("CORRIDOR_SMTP_FROM", "corridor@localhost"),
        )
        if os.environ.get("CORRIDOR_SMTP_HOST")
        else None
    )
    store, _ = _store()
    with store.transaction() as session:
        done = deliver(session, list(session.scalars(sa.select(Alert).where(Alert.status == "open"))), smtp)
    out.print(f"{sum(d.status == 'sent' for d in done)} sent, {sum(d.status == 'failed' for d in done)} failed")
    for d in done:
        if d.status == "failed":
            out.print(f"  failed {d.channel} {d.target}: {d.last_error}", markup=False)


@app.command("eval")
def eval_cmd(
    gold: Annotated[Path, typer.Argument(help="Gold labels, JSONL {id, published, incidents}.")],
    articles: Annotated[Path, typer.Option(help="Folder with ID.txt / ID.html.")],
    verbose: Annotated[bool, typer.Option(help="List every miss.")] = False,
) -> None:
    """Score extraction against hand labels: incident P/R/F1 and per-field accuracy."""
    from corridor.extract.evaluate import FIELDS, evaluate

    if not gold.exists():
        raise UserError(f"{gold}: no such file")
    s = evaluate(gold, articles)
    out.print(f"documents {s.documents}  gold incidents {s.tp + s.fn}  predicted {s.tp + s.fp}")
    out.print(f"incident precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}")
    for name in FIELDS:
        acc = s.accuracy(name)
        if acc is not None:
            out.print(f"  {name:20s} {s.correct[name]:4d}/{s.total[name]:<4d} {acc:.3f}")
    if s.misses:
        out.print(f"{len(s.misses)} misses:")
        for m in s.misses if verbose else s.misses[:40]:
            out.print("  " + m, markup=False)


def samples_dir() -> Path:
    return Path(str(resources.files("corridor") / "samples"))


@app.command()
def demo() -> None:
    """Fresh store, the bundled sample corpus ingested, the incident picture printed."""
    from corridor.ingest.service import ingest_items, read_manifest
    from corridor.store.queries import list_incidents

    store, settings = _store()
    out.print(f"[bold]corridor demo[/] — store: {settings.display_url}")
    movement_id = _demo_registry(store)
    items = read_manifest(samples_dir() / "manifest.jsonl")
    report = _run_ingest(store, items, settings.max_document_bytes, ingest_items)
    _print_ingest_summary(report)
    with store.sessions() as session:
        rows = list_incidents(session, SYSTEM)
        out.print(incident_table(rows))
        multi = sum(1 for r in rows if len({m.document_id for m in r.mentions}) > 1)
        conflicts = sum(
            1 for r in rows if any(isinstance(v, dict) and v.get("conflict") for v in r.provenance.values())
        )
    out.print(
        f"{len(rows)} incidents from {report.count('new')} reports; {multi} reported by several sources, "
        f"{conflicts} with conflicting figures kept per source."
    )
    _demo_risk(rows)
    _demo_operations(store, movement_id)
    where = settings.database_path or settings.display_url
    out.print(f"Data lives in [bold]{where}[/] (set CORRIDOR_HOME or CORRIDOR_DATABASE_URL to move it).")
    _demo_login(store, settings.home)
    out.print("Next: corridor incidents show ID · corridor incidents export --format geojson")


def _demo_registry(store) -> str:
    """A sample company with three CPEC sites, its Chinese staff and a planned airport transfer."""
    from datetime import datetime

    from corridor.identity.service import add_org
    from corridor.ops.service import LOCAL, add_person, add_site, request_movement
    from corridor.store.visibility import Viewer

    with store.transaction() as session:
        org = add_org(session, "Harbour Power Co", "company")
        add_org(session, "Provincial Liaison Cell", "agency")
        v = Viewer(user_id=None, org_id=org.id, role="admin")
        sites = [
            add_site(session, v, "Port Qasim coal power plant", 24.78, 67.35, "power_plant", 1500, "SSU Sindh"),
            add_site(session, v, "Dasu hydropower camp", 35.29, 73.29, "camp", 800, "SSD 34 Division"),
            add_site(session, v, "Gwadar port office", 25.11, 62.345, "office", 200, "SSD 44 Division"),
        ]
        staff = [add_person(session, v, f"Engineer {k + 1}", "Chinese", sites[k % 3].id) for k in range(6)]
        mv = request_movement(
            session,
            v,
            "airport_transfer",
            "Karachi airport",
            "Port Qasim",
            datetime(2024, 10, 8, 19, 30, tzinfo=LOCAL),
            [staff[0].id, staff[3].id],
            vehicles=[{"name": "Land Cruiser", "armoured": False}],
            escort="Sindh Police",
        )
        out.print(
            "registry: Harbour Power Co with 3 sites (Port Qasim, Dasu, Gwadar), 6 staff, one airport transfer "
            "planned for 8 Oct 2024 19:30"
        )
        return mv.id


def _demo_login(store, home: Path) -> None:
    """A dashboard login for the sample company's security manager, with a random password written to a file
    only its owner may read (and printed: the demo is a local, loopback-only setup)."""
    import secrets

    from corridor.identity.service import add_user, find_org

    password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    with store.transaction() as session:
        add_user(session, find_org(session, "Harbour Power Co"), "demo", "admin", password)
    home.mkdir(parents=True, exist_ok=True)
    login = home / "demo-login.txt"
    login.write_text(f"username: demo\npassword: {password}\n", encoding="utf-8")
    login.chmod(0o600)
    out.print(
        f"Dashboard: [bold]corridor serve[/] then http://127.0.0.1:8765 — log in as [bold]demo[/] with password "
        f"[bold]{password}[/] (also in {login})."
    )


def _demo_operations(store, movement_id: str) -> None:
    """The alerts the sample reports raised for the sample company, and the planned transfer's evaluation."""
    import sqlalchemy as sa

    from corridor.geo.roads import get_network
    from corridor.ops.service import evaluate_movement
    from corridor.store.tables import Alert, Movement

    risk = _risk_model()  # before the write transaction: building it reads the store
    with store.transaction() as session:
        alerts = list(session.scalars(sa.select(Alert).order_by(Alert.created_at)))
        by_kind: dict[str, int] = {}
        for a in alerts:
            by_kind[a.target_kind] = by_kind.get(a.target_kind, 0) + 1
        out.print(
            f"alerts raised by the sample reports: {len(alerts)} "
            f"({', '.join(f'{n} {k}s' for k, n in sorted(by_kind.items()))})"
        )
        for a in [a for a in alerts if a.target_kind == "site"][:4]:
            out.print(f"  {a.reason}", markup=False)
        mv = session.get(Movement, movement_id)
        assert mv is not None
        ev = evaluate_movement(session, mv, risk, get_network())
    _print_evaluation(movement_id, ev)


def _demo_risk(rows) -> None:
    """The risk picture as of the latest incident: places that matter for protection, and two routes."""
    from datetime import timedelta

    from corridor.geo.roads import RoadError, get_network
    from corridor.risk.routes import plan
    from corridor.risk.service import RiskError

    dated = [r.date for r in rows if r.date is not None and r.date_precision == "day"]
    if not dated:
        return
    day = max(dated) + timedelta(days=3)
    model = _risk_model()
    t = Table(title=f"Risk on {day} (Hawkes model on the bundled history and these incidents; docs/risk.md)")
    for col in ("place", "rating", "attacks/yr within 25 km", "on foreigners", "trend", "raised most by"):
        t.add_column(col, overflow="fold")
    for name in ("Karachi airport", "Port Qasim", "Gwadar Port", "Dasu Dam", "Quetta", "Islamabad"):
        lat, lon, label = _where(name)
        try:
            r = model.rate(lat, lon, day)
        except RiskError as exc:
            t.add_row(label, "–", str(exc), "", "", "")
            continue
        top = r["raised_by"][0] if r["raised_by"] else None
        foreign = r["targeting_foreigners"]
        t.add_row(
            label,
            f"{r['rating']} {r['label']}",
            str(r["expected_attacks_per_year_within_25km"]),
            f"{foreign['rating']} {foreign['label']}" if foreign else "–",
            r["trend"],
            f"{top['date']} {top['event_type']} {top['place']}" if top else "background",
        )
    out.print(t)
    for a, b in (("Karachi airport", "Port Qasim"), ("Islamabad", "Dasu")):
        try:
            r = plan(model, get_network(), a, b, day)
        except (RiskError, RoadError) as exc:
            out.print(f"route {a} → {b}: {exc}")
            continue
        w = r["worst_segment"]
        out.print(
            f"route {r['from']} → {r['to']}: {r['km']} km, {r['hours']} h, rating {r['rating']} "
            f"({r['label']}); worst segment {w['road']} {w['between'][0]} – {w['between'][1]} "
            f"(rating {w['rating']})"
        )


def main() -> None:
    try:
        app()
    except (UserError, InputError, ConfigError) as exc:
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")  # one line, never wrapped
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted: every report already ingested is complete; re-run to continue")
        sys.exit(130)


if __name__ == "__main__":
    main()
