"""Dashboard benchmark (`python -m bench ui`): every page of /ui over real HTTP, p50/p99,
against the 200 ms target, at BENCH_UI_SIZES stored events (default 1,000,000) on SQLite and
PostgreSQL.

The datasets are bench.consumption's (a SQLite file in BENCH_DATA, a PostgreSQL schema;
built once, then reused by both benchmarks): 5 meters, the events spread over 2026-01-01 ..
2026-04-01, the target customer `cust-0` (5 products in force from a contract started
2026-01-01, monthly commitment lines). The server is bench.consumption's (the app of
`meterline serve`: uvicorn, uvloop, httptools, one process); the client signs in to the
dashboard with the dataset's API key and keeps one keep-alive connection with the session
cookie; each round requests every page once, in order (BENCH_UI_REQUESTS rounds after
BENCH_UI_WARMUP). The first invoices read issues the contracts' ended cycles (as the
invoices job would on a live server); the warm-up absorbs it.

On PostgreSQL the dataset's tables are vacuumed once first (_vacuum), as autovacuum would
have done on a live server. The overview's event figures are ingestion counts by day of
receipt (events.counts: a few rows a day, whatever the number of stored events).

PAGES lists the pages: {customerId} {invoiceId} {meterId} {eventRef} {webhookId} are filled
from the API's answers for the dataset; a page answering 404 (not on this branch yet) or
whose placeholder has no value is skipped and reported as such.

Environment: BENCH_UI_SIZES ("1000000"), BENCH_UI_BACKENDS ("sqlite,postgres"),
BENCH_UI_REQUESTS (200), BENCH_UI_WARMUP (20), BENCH_DATA (dataset cache, bench/.data).
"""

import http.client
import json
import os
import re
import signal
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from rich.table import Table

from bench import report
from meterline.db.engine import create_database
from meterline.db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 200.0
# (name, path): every page of the dashboard, U1's then U2's (one line each).
PAGES: list[tuple[str, str]] = [
    ("overview", "/ui/overview"),
    ("customers", "/ui/customers"),
    ("customers search", "/ui/customers?q=target"),
    ("customer, 30 days", "/ui/customers/{customerId}"),
    ("customer, 90 days", "/ui/customers/{customerId}?days=90"),
    ("invoices", "/ui/invoices"),
    ("invoices of a customer, PendingPayment", "/ui/invoices?status=PendingPayment&customerId={customerId}"),
    ("invoice", "/ui/invoices/{invoiceId}"),
    ("meters and products", "/ui/meters"),
    ("meter", "/ui/meters/{meterId}"),
    ("events, one alias, one day", "/ui/events?alias=cust-0&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z"),
    ("events, all, 90 days", "/ui/events?from=2026-01-01T00:00:00Z&to=2026-04-01T00:00:00Z"),
    ("events, all", "/ui/events"),
    ("event", "/ui/events/by-ref?ref={eventRef}"),
    ("events dry run form", "/ui/events/dry-run"),
    ("webhooks", "/ui/webhooks"),
    ("webhook deliveries", "/ui/webhooks/{webhookId}"),
    ("webhook deliveries, failed", "/ui/webhooks/{webhookId}?status=failed"),
]
HOOK_URL = "https://meterline-bench.invalid/hook"  # .invalid never resolves (RFC 2606): never called


class Client:
    """One keep-alive connection: the API with a Bearer token, the dashboard with its cookie."""

    def __init__(self, port: int, api_key: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = json.dumps({"refreshToken": api_key})
        status, answer, _ = self.request("POST", "/login", body, {"content-type": "application/json"})
        assert status == 200, answer[:300]
        self.auth = {"Authorization": f"Bearer {json.loads(answer)['accessToken']}"}
        form = urlencode({"key": api_key, "next": "/ui/overview"})
        status, answer, headers = self.request(
            "POST", "/ui/sign-in", form, {"content-type": "application/x-www-form-urlencoded"}
        )
        cookie = re.match(r"(meterline_ui=[^;]+)", headers.get("set-cookie", ""))
        assert status == 303 and cookie is not None, (status, answer[:300])
        self.cookie = {"Cookie": cookie.group(1)}

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        self.conn.request(method, path, body, headers or {})
        resp = self.conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}

    def api(self, path: str) -> Any:
        status, body, _ = self.request("GET", path, headers=self.auth)
        assert status == 200, (path, body[:300])
        return json.loads(body)

    def page(self, path: str) -> tuple[int, float]:
        t = time.perf_counter()
        status, body, _ = self.request("GET", path, headers=self.cookie)
        elapsed = time.perf_counter() - t
        assert status in (200, 404), (path, status, body[:300])
        return status, elapsed


def _placeholders(c: Client, info: dict[str, Any]) -> dict[str, str]:
    """Ids for the pages' paths, from the API's answers for the dataset."""
    out = {"customerId": info["customerId"]}
    invoices = c.api(f"/invoices?customerId={info['customerId']}&limit=100")["invoices"]
    issued = [i for i in invoices if i["billingStatus"] != "None"] or invoices
    if issued:
        out["invoiceId"] = issued[0]["id"]
    meters = c.api("/meters?limit=1")["meters"]
    if meters:
        out["meterId"] = meters[0]["id"]
    events = c.api("/events?startTime=2026-03-01T00:00:00Z&endTime=2026-03-02T00:00:00Z&limit=1")["events"]
    if events:
        out["eventRef"] = events[0]["ref"]
    hooks = c.api("/webhooks?limit=1")["webhooks"]
    if not hooks:  # one subscription (never called: the bench server runs no background jobs)
        body = json.dumps({"callbackUrl": HOOK_URL, "eventType": "InvoiceApproved"})
        status, answer, _ = c.request("POST", "/webhook", body, {**c.auth, "content-type": "application/json"})
        hooks = [json.loads(answer)["webhook"]] if status == 200 else []
    if hooks:
        out["webhookId"] = hooks[0]["id"]
    return out


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


def measure(url: str, info: dict[str, Any], requests: int, warmup: int) -> dict[str, Any]:
    """{page name: {"path", "p50", "p99"} or {"path", "skipped": why}}."""
    from bench import consumption

    port = 19500 + os.getpid() % 400
    db = create_database(url)
    upgrade(db)
    db.dispose()
    proc = consumption._start(url, port)
    try:
        c = Client(port, info["apiKey"])
        ids = _placeholders(c, info)
        pages: dict[str, str] = {}
        result: dict[str, Any] = {}
        for name, template in PAGES:
            missing = [k for k in re.findall(r"{(\w+)}", template) if k not in ids]
            if missing:
                result[name] = {"path": template, "skipped": f"no {', '.join(missing)} in the dataset"}
            else:
                pages[name] = template.format(**ids)
        for _ in range(warmup):
            for name, path in list(pages.items()):
                status, _ = c.page(path)
                if status == 404:
                    result[name] = {"path": path, "skipped": "404 (page not on this branch)"}
                    del pages[name]
        times: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(requests):
            for name, path in pages.items():
                status, elapsed = c.page(path)
                assert status == 200, (path, status)
                times[name].append(elapsed)
        c.conn.close()
        for name, path in pages.items():
            result[name] = {"path": path, "p50": _pct(times[name], 0.5), "p99": _pct(times[name], 0.99)}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return result


def _vacuum(schema: str) -> None:
    """VACUUM (ANALYZE) the dataset's tables once, as autovacuum does on a live server: a
    freshly bulk-loaded table has no visibility map, so PostgreSQL cannot answer a count from
    the index alone (ix_events_account_ts: an index-only range scan once vacuumed)."""
    import sqlalchemy as sa

    from bench import pg

    engine = sa.create_engine(pg.PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        tables = conn.exec_driver_sql(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %(s)s AND c.relkind = 'r' AND c.relallvisible = 0 AND c.relpages > 100",
            {"s": schema},
        ).all()
        for (table,) in tables:
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{schema}"."{table}"')
    engine.dispose()


def main() -> None:
    from bench import consumption

    console = consumption.console
    sizes = [int(s) for s in os.environ.get("BENCH_UI_SIZES", "1000000").split(",")]
    backends = os.environ.get("BENCH_UI_BACKENDS", "sqlite,postgres").split(",")
    requests = int(os.environ.get("BENCH_UI_REQUESTS", "200"))
    warmup = int(os.environ.get("BENCH_UI_WARMUP", "20"))
    cache = Path(os.environ.get("BENCH_DATA", ROOT / "bench" / ".data"))
    cache.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    rows: list[tuple[str, str, str]] = []
    for backend in backends:
        for size in sizes:
            console.print(f"{backend}: dataset {size:,} events ...")
            url, info = consumption.dataset(size, cache, backend=backend)
            if backend == "postgres":
                _vacuum(f"bench_consumption_{size}_{consumption.VERSION}")
            console.print(f"{backend}: measuring the dashboard at {size:,} events ...")
            res = measure(url, info, requests, warmup)
            for name, _ in PAGES:
                r = res[name]
                label = f"{backend}, {size:,} events: {name} `{r['path']}`"
                if "skipped" in r:
                    rows.append((label, f"skipped: {r['skipped']}", ""))
                else:
                    ok = "met" if r["p99"] < TARGET_MS else "MISSED"
                    rows.append((label, f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms", f"< {TARGET_MS:.0f} ms: {ok}"))
    table = Table("measure", "result", "target")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    _append(rows, time.perf_counter() - began, sizes, backends, requests, warmup)


def _append(
    rows: list[tuple[str, str, str]], seconds: float, sizes: list[int], backends: list[str], requests: int, warmup: int
) -> None:
    from bench.metering import _machine

    p50s = _p50s(rows)
    report.append(
        "Dashboard pages",
        [
            "Command: `make bench` (`python -m bench`, or `python -m bench ui` alone); "
            f"sizes {','.join(str(s) for s in sizes)} on {', '.join(backends)}; {requests} rounds of every page "
            f"after {warmup} warm-up rounds, one keep-alive connection signed in with the session cookie; "
            f"ran {seconds:,.0f} s (bench.consumption's datasets)",
            f"Machine: {_machine()}",
        ],
        ("measure", "result", "target"),
        rows,
        [f"Median of the page p50s: {statistics.median(p50s):.1f} ms" if p50s else ""],
    )


def _p50s(rows: list[tuple[str, str, str]]) -> list[float]:
    return [float(m.group(1)) for _, b, _ in rows if (m := re.match(r"p50 ([\d.]+) ms", b))]


if __name__ == "__main__":
    main()
