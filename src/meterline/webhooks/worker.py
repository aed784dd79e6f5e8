"""The delivery worker: claims due deliveries from the outbox, POSTs them signed, records
the outcome, and retries failures with backoff until 24 h after creation.

State lives in `webhook_deliveries` only: a claim is a lease (token + expiry) written in a
short transaction, so a worker that dies mid-delivery loses nothing: its lease expires and
any worker (the in-process one after a restart, or `meterline worker`) takes the delivery
again. Several workers may run against one database.

Entry points:
- `start(app)`: the in-process starter listed in meterline.routers.BACKGROUND.
- `run_forever(db, config, stop)`: the loop (`meterline worker` runs it alone).
- `run_once(db, client, config, now=...)`: one claim/deliver/record pass, `now` explicit in tests.
- `claim`, `send`, `record`: the three steps, for tools and tests.
"""

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from meterline.config import Settings
from meterline.db.engine import Database, transaction
from meterline.jobs.tasks import Stopper, start_task
from meterline.kit import metrics
from meterline.kit.times import now_us
from meterline.webhooks import egress, keys, service
from meterline.webhooks import repository as repo
from meterline.webhooks.retry import US, RetryPolicy, next_attempt_at

log = structlog.get_logger("meterline.webhooks")


@dataclass(frozen=True)
class WorkerConfig:
    poll_seconds: float = 1.0
    concurrency: int = 16  # deliveries in flight per worker
    per_subscription: int = 4  # of which at most this many to one subscription
    timeout_seconds: float = 10.0  # total, per delivery attempt
    lease_seconds: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    allowed_networks: str = ""  # internal networks callbacks may reach (webhooks.egress)

    def __post_init__(self) -> None:
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError("the webhook lease must be longer than the delivery timeout")
        if self.concurrency < 1 or self.per_subscription < 1:
            raise ValueError("webhook concurrency and per_subscription must be at least 1")
        egress.parse_networks(self.allowed_networks)  # ValueError if malformed

    @classmethod
    def from_settings(cls, settings: Settings) -> "WorkerConfig":
        """From METERLINE_WEBHOOK_* (the lease defaults to max(60 s, 2 x timeout + 5 s))."""
        timeout = settings.webhook_timeout_seconds
        lease = settings.webhook_lease_seconds
        return cls(
            poll_seconds=settings.webhook_poll_seconds,
            concurrency=settings.webhook_concurrency,
            per_subscription=settings.webhook_per_subscription,
            timeout_seconds=timeout,
            lease_seconds=lease if lease is not None else max(60.0, 2 * timeout + 5),
            retry=RetryPolicy(
                base_seconds=settings.webhook_retry_base_seconds,
                cap_seconds=settings.webhook_retry_cap_seconds,
                give_up_seconds=settings.webhook_give_up_seconds,
            ),
            allowed_networks=settings.webhook_allowed_networks,
        )


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    account_id: str
    subscription_id: str
    callback_url: str
    attempts: int
    created_at: int
    body: bytes
    private_pem: str | None

    def __repr__(self) -> str:  # never the key, nor the URL (it may hold credentials)
        return f"Claimed(id={self.id!r}, attempts={self.attempts})"


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # HTTP status, None when no answer (timeout, refused, ...)
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def claim(
    db: Database, *, now: int, config: WorkerConfig, limit: int | None = None, busy: dict[str, int] | None = None
) -> tuple[str, list[Claimed]]:
    """Lease due deliveries in one short write transaction and load what sending needs."""
    with transaction(db, write=False) as conn:
        if not repo.any_due(conn, now=now):
            return "", []
    token = secrets.token_hex(16)
    with transaction(db) as conn:
        ids = repo.claim(
            conn,
            now=now,
            limit=config.concurrency if limit is None else limit,
            token=token,
            lease_until=now + int(config.lease_seconds * US),
            per_subscription=config.per_subscription,
            busy=busy,
        )
        rows = repo.claimed(conn, token) if ids else []
    pems: dict[str, str] = {}
    for account_id in {r["account_id"] for r in rows if r["private_pem"] is None}:
        # only for notifications enqueued for an account before anything made its key
        with transaction(db) as conn:
            service.ensure_key(conn, account_id=account_id)
            pems[account_id] = repo.get_private_pem(conn, account_id) or ""
    items = [
        Claimed(
            id=r["id"],
            account_id=r["account_id"],
            subscription_id=r["subscription_id"],
            callback_url=r["callback_url"],
            attempts=r["attempts"],
            created_at=r["created_at"],
            body=str(r["body"]).encode(),
            private_pem=r["private_pem"] or pems.get(r["account_id"]),
        )
        for r in rows
    ]
    return token, items


async def send(client: httpx.AsyncClient, item: Claimed, *, timeout: float) -> Outcome:
    """One signed POST, at most `timeout` seconds in all. Never raises: a failure is an Outcome.
    The answer's body is never read (a 2xx status is all that counts)."""
    assert item.private_pem is not None
    timestamp = int(time.time())
    try:
        headers = keys.headers(item.private_pem, timestamp, item.body)
        request = client.build_request("POST", item.callback_url, content=item.body, headers=headers, timeout=timeout)
        async with asyncio.timeout(timeout):
            resp = await client.send(request, stream=True)
            await resp.aclose()
    except TimeoutError:
        return Outcome(status=None, error=f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        refused = str(exc).startswith("egress refused")  # webhooks.egress: the reason, no URL
        return Outcome(status=None, error=str(exc) if refused else type(exc).__name__)
    except Exception as exc:  # a broken key or URL: recorded and retried, never fatal to the loop
        return Outcome(status=None, error=type(exc).__name__)
    return Outcome(status=resp.status_code, error=None if resp.is_success else f"HTTP {resp.status_code}")


def record(
    db: Database, token: str, item: Claimed, outcome: Outcome, *, now: int, policy: RetryPolicy, rand: float
) -> str:
    """Write an attempt's outcome; answers the delivery's new status ("stale" if the lease was lost)."""
    values: dict[str, Any] = {"last_status": outcome.status, "last_error": outcome.error}
    if outcome.delivered:
        values.update(status=repo.DELIVERED, finished_at=now)
    else:
        nxt = next_attempt_at(created_at=item.created_at, attempts=item.attempts, now=now, policy=policy, rand=rand)
        if nxt is None:
            values.update(status=repo.FAILED, finished_at=now)
        else:
            values.update(next_attempt_at=nxt)
    with transaction(db) as conn:
        ok = repo.finish_attempt(conn, delivery_id=item.id, token=token, now=now, values=values)
    status = str(values.get("status", repo.PENDING)) if ok else "stale"
    log.info(
        "webhook_attempt",
        delivery_id=item.id,
        attempt=item.attempts,
        http_status=outcome.status,
        error=outcome.error,
        result=status,
    )
    return status


async def _deliver(
    db: Database,
    client: httpx.AsyncClient,
    config: WorkerConfig,
    token: str,
    item: Claimed,
    *,
    now: int | None,
    rand: Callable[[], float],
) -> str:
    with metrics.job_round("webhook_delivery"):
        outcome = await send(client, item, timeout=config.timeout_seconds)
        done = now_us() if now is None else now
        return await asyncio.to_thread(record, db, token, item, outcome, now=done, policy=config.retry, rand=rand())


async def run_once(
    db: Database,
    client: httpx.AsyncClient,
    config: WorkerConfig,
    *,
    now: int | None = None,
    rand: Callable[[], float] = random.random,
) -> int:
    """One pass: claim what is due at `now` (default: the clock), deliver it concurrently,
    record each outcome at the same `now`. Returns the number of deliveries attempted."""
    at = now_us() if now is None else now
    token, items = await asyncio.to_thread(claim, db, now=at, config=config)
    await asyncio.gather(*(_deliver(db, client, config, token, i, now=now, rand=rand) for i in items))
    return len(items)


def new_client(allowed_networks: str = "") -> httpx.AsyncClient:
    # No redirects (a 3xx is not a delivery), no proxies from the environment. httpx's own
    # INFO line names the URL (which may carry credentials): keep it out of the logs.
    # Connections only to addresses the egress guard passes (webhooks.egress).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "Meterline-Webhooks/1"},
        transport=egress.guarded_transport(egress.parse_networks(allowed_networks)),
    )


async def run_forever(db: Database, config: WorkerConfig, stop: asyncio.Event) -> None:
    """Deliver until `stop` is set: up to `concurrency` deliveries in flight, a free slot is
    refilled as soon as one finishes (no batch waits for its slowest receiver)."""
    inflight: dict[asyncio.Task[str], str] = {}  # task -> subscription id
    stopping = asyncio.ensure_future(stop.wait())
    async with new_client(config.allowed_networks) as client:
        while not stop.is_set():
            free = config.concurrency - len(inflight)
            token, items = "", list[Claimed]()
            if free > 0:
                busy: dict[str, int] = {}
                for sub in inflight.values():
                    busy[sub] = busy.get(sub, 0) + 1
                try:
                    with metrics.job_round("webhook_claim"):
                        token, items = await asyncio.to_thread(
                            claim, db, now=now_us(), config=config, limit=free, busy=busy
                        )
                except Exception:  # a database hiccup: log, wait, go on
                    log.exception("webhook_claim_error")
                for item in items:
                    task = asyncio.ensure_future(
                        _deliver(db, client, config, token, item, now=None, rand=random.random)
                    )
                    inflight[task] = item.subscription_id
            if items and len(items) == free:
                await asyncio.sleep(0)
                continue  # slots were all filled: more may be due
            waiters: set[asyncio.Future[Any]] = {stopping, *inflight}
            done, _ = await asyncio.wait(waiters, timeout=config.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
            for task in [t for t in done if t in inflight]:
                inflight.pop(task)
                if task.exception() is not None:
                    log.error("webhook_record_error", exc_info=task.exception())
        if inflight:  # let in-flight deliveries finish (each is bounded by the timeout)
            await asyncio.wait(inflight, timeout=config.timeout_seconds + 5)
    stopping.cancel()


def start(app: FastAPI) -> Stopper:
    """The in-process worker (routers.BACKGROUND). app.state.webhook_worker_config may
    override the configuration read from METERLINE_WEBHOOK_* variables. Stopping lets
    in-flight deliveries finish; one cut short stays leased, and its lease expires and it
    is retried."""
    db: Database = app.state.db
    config = getattr(app.state, "webhook_worker_config", None) or WorkerConfig.from_settings(app.state.settings)
    return start_task(
        lambda stop: run_forever(db, config, stop), name="meterline-webhooks", grace_seconds=config.timeout_seconds + 5
    )


def run_blocking(db: Database, settings: Settings) -> None:
    """`meterline worker`: deliver, scan thresholds (webhooks.thresholds), issue due
    invoices (invoices.job), run meter rebuilds (meters.rebuilds) and fold the rollup
    backlog (usage.backlog), until SIGINT/SIGTERM.
    The two periodic jobs run here only while this process holds their lease
    (meterline.jobs.leader); a rebuild is held by one process at a time (its own lease)."""
    import signal

    from meterline.invoices import job as invoice_job
    from meterline.meters import rebuilds
    from meterline.usage import backlog
    from meterline.webhooks import thresholds

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await asyncio.gather(
            run_forever(db, WorkerConfig.from_settings(settings), stop),
            thresholds.run_forever(
                db, thresholds.ScanConfig(settings.threshold_scan_seconds, settings.renewal_notice_days), stop
            ),
            invoice_job.run_forever(db, settings.invoice_interval, stop, invoice_job.grace_of(settings)),
            rebuilds.run_forever(db, rebuilds.RebuildConfig.from_settings(settings), stop),
            backlog.run_forever(
                db, chunk=settings.fold_chunk_events, poll_seconds=settings.fold_poll_seconds, stop=stop
            ),
        )

    asyncio.run(main())
