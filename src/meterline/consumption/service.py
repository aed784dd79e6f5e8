"""Products consumptions: provisioned (contracts) against consumed (events + measurements).

For a customer at instant t: one entry per catalog product with a meter that appears on a
line in force at t; several lines of one product merge (consumption.rules.merge). The
consumed amount is the meter over the customer's events (all its aliases) with timestamp
in [window start, t), plus measurements dated in that range for Count and Sum meters.
"""

from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa

from meterline.catalog import repository as catalog_repo
from meterline.consumption import repository as repo
from meterline.consumption import rules
from meterline.contracts.lines import iso_exact
from meterline.contracts.service import LineInForce, account_lines_in_force, lines_in_force
from meterline.customers import repository as customers_repo
from meterline.db.raw import GENERIC_PLANS, Ahead, Mispredicted, Recorder, Statement, prefetched, recording
from meterline.kit.decimals import EXACT
from meterline.kit.errors import NotFound
from meterline.meters import repository as meters_repo
from meterline.meters.aggregation import ZERO
from meterline.usage import service as usage

MEASURED_OPERATORS = frozenset({"Count", "Sum"})


class _Product(NamedTuple):
    product_id: str
    name: str
    meter_id: str
    shares: list[rules.LineShare]
    merged: rules.Merged


def _group(lines: Sequence[LineInForce], meters: dict[str, dict[str, Any]]) -> list[_Product]:
    """Lines of products whose meter is live, one entry per product (lines merged)."""
    by_product: dict[str, list[LineInForce]] = {}
    for line in lines:
        if line.meter_id in meters:
            by_product.setdefault(line.catalog_product_id, []).append(line)
    out = []
    for pid, group in by_product.items():
        shares = [_share(x) for x in group]
        out.append(_Product(pid, group[0].product_name, str(group[0].meter_id), shares, rules.merge(shares)))
    return out


def _share(line: LineInForce) -> rules.LineShare:
    return rules.LineShare(
        provisioned=line.provisioned,
        strategy=line.overage_strategy,
        window_start_us=line.window_start_us,
        window_end_us=line.window_end_us,
        contract_start_us=line.contract_start_us,
        seq=line.contract_seq,
    )


def _consumed(
    conn: sa.Connection,
    account_id: str,
    customer_id: str,
    aliases: Sequence[str],
    products: list[_Product],
    meters: dict[str, dict[str, Any]],
    at_us: int,
    found: usage.EdgeMemo | None = None,
    assume: usage.EdgeMemo | None = None,
) -> list[Decimal]:
    """Usage of each product's meter over its window [start, min(end, at)), plus the
    measurements dated in it for Count and Sum meters (one query for all of them)."""
    if not products:
        return []
    requests = [(p.meter_id, p.merged.window_start_us, min(p.merged.window_end_us, at_us)) for p in products]
    values = usage.window_values(
        conn,
        account_id,
        aliases,
        [(meters[m], s, e) for m, s, e in requests],
        found=found,
        assume=assume,
    )
    operators = {m: usage.spec_of(row).operator for m, row in meters.items()}
    measured = [r for r in requests if operators[r[0]] in MEASURED_OPERATORS and r[1] < r[2]]
    rows = (
        repo.measurements(
            conn,
            account_id,
            customer_id,
            [m for m, _, _ in measured],
            min(s for _, s, _ in measured),
            max(e for _, _, e in measured),
        )
        if measured
        else []
    )
    out = []
    for (meter_id, start, end), value in zip(requests, values, strict=True):
        value = ZERO if value is None else value
        if operators[meter_id] in MEASURED_OPERATORS:
            for mid, day, amount in rows:
                if mid == meter_id and start <= day < end:
                    value = EXACT.add(value, amount)
        out.append(value)
    return out


class Entry(NamedTuple):
    product_id: str
    product_name: str
    provisioned: Decimal
    consumed: Decimal
    shares: list[rules.LineShare]
    window: tuple[int, int]  # the merged usage window [start, end) the consumption covers


def _entries(
    conn: sa.Connection,
    account_id: str,
    customer_id: str,
    aliases: Sequence[str],
    lines: Sequence[LineInForce],
    at_us: int,
    seen: "_Seen | None" = None,
) -> list[Entry]:
    meter_ids = sorted({x.meter_id for x in lines if x.meter_id})
    meters = {row["id"]: row for row in meters_repo.live_keys(conn, account_id, meter_ids)}
    products = _group(lines, meters)
    if seen is not None:
        seen.lines, seen.meters = lines, meters
    edges = None if seen is None else seen.edges
    consumed = _consumed(conn, account_id, customer_id, aliases, products, meters, at_us, edges)
    out = []
    for p, c in zip(products, consumed, strict=True):
        window = (p.merged.window_start_us, p.merged.window_end_us)
        out.append(Entry(p.product_id, p.name, p.merged.provisioned, c, p.shares, window))
    return out


def to_wire(product_id: str, name: str, provisioned: Decimal, consumed: Decimal, access: bool) -> dict[str, Any]:
    return {
        "productId": product_id,
        "productName": name,
        "provisionedAmount": provisioned,
        "consumedAmount": consumed,
        "usagePercentage": rules.usage_percentage(provisioned, consumed),
        "hasAccess": access,
        "remainingAmount": max(EXACT.subtract(provisioned, consumed), Decimal(0)),
        "exceededAmount": max(EXACT.subtract(consumed, provisioned), Decimal(0)),
    }


# Window bounds repeat from request to request (the hot read path): their text is kept
# rather than formatted again (strftime costs tens of µs on a loaded machine).
_instant_text = lru_cache(maxsize=4096)(iso_exact)


def with_window(entry: dict[str, Any], window: tuple[int, int] | None) -> dict[str, Any]:
    """The extension fields of the consumption endpoints: `windowStart` / `windowEnd`, the
    usage window [start, end) whose usage `consumedAmount` counts (up to now); null when none."""
    entry["windowStart"] = None if window is None else _instant_text(window[0])
    entry["windowEnd"] = None if window is None else _instant_text(window[1])
    return entry


class _Balance:
    """The customer's credit balance, read once and only when a TOP_UP line needs it."""

    def __init__(self, conn: sa.Connection, account_id: str, customer_id: str, seen: "_Seen | None" = None) -> None:
        self.conn, self.account_id, self.customer_id, self.seen = conn, account_id, customer_id, seen
        self.value: Decimal | None = None

    def get(self) -> Decimal:
        if self.value is None:
            self.value = repo.balance(self.conn, self.account_id, self.customer_id)
            if self.seen is not None:
                self.seen.balance = True
        return self.value


def _access(entry: Entry, balance: _Balance) -> bool:
    needs_balance = any(s.strategy == "TOP_UP" for s in entry.shares)
    return rules.merged_has_access(
        entry.shares,
        provisioned=entry.provisioned,
        consumed=entry.consumed,
        credit_balance=balance.get() if needs_balance else Decimal(0),
    )


def entries_for(
    conn: sa.Connection,
    *,
    account_id: str,
    customer_id: str,
    lines: Sequence[LineInForce],
    at_us: int,
    aliases: Sequence[str] | None = None,
    windows: bool = False,
    seen: "_Seen | None" = None,
) -> list[dict[str, Any]]:
    """The wire entries of these lines of one customer (lines_in_force at at_us, or a part
    of them), one per product with a live meter, merged: what for_customer answers for them
    (with `windows`, each entry carries its window: with_window)."""
    if not lines:
        return []
    if aliases is None:
        aliases = repo.customer_aliases(conn, account_id, customer_id) or []
    balance = _Balance(conn, account_id, customer_id, seen)
    out = []
    for e in _entries(conn, account_id, customer_id, aliases, lines, at_us, seen):
        entry = to_wire(e.product_id, e.product_name, e.provisioned, e.consumed, _access(e, balance))
        out.append(with_window(entry, e.window) if windows else entry)
    return out


class _Seen:
    """What one read of a customer used (aliases, lines in force, meters, what it found at
    the windows' edges, whether it read the credit balance): the customer's next read in
    this process predicts its statements from it and fetches them ahead in one round trip
    (db.raw.prefetched). Never a source of answers: a wrong prediction costs the round trips
    it did not save."""

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.aliases: Sequence[str] = ()
        self.lines: Sequence[LineInForce] = ()
        self.meters: dict[str, dict[str, Any]] = {}
        self.edges = usage.EdgeMemo()
        self.balance = False
        self.ahead: Ahead | None = None  # what was fetched ahead for this read, and missed
        self.held = False  # every statement of this read was fetched ahead, and used
        self.reran = False  # its prediction missed after the transaction had ended


# By (account id, customer id or alias): the last read's _Seen, in this process.
_SEEN: dict[tuple[str, str, str], _Seen] = {}


def _predicted(
    conn: sa.Connection, account_id: str, at_us: int, seen: _Seen | None, alias: str | None
) -> list[Statement]:
    """The statements a read at at_us would run if the customer's definitions were those
    `seen` (recorded by running the same functions on a db.raw.Recorder)."""
    recorder = Recorder(conn.dialect.name)
    recorder.statements.append(GENERIC_PLANS)
    conn = recording(recorder)
    if alias is not None:
        repo.customer_of_alias(conn, account_id, alias)
    if seen is None:
        return recorder.statements
    cid = seen.customer_id
    repo.customer_aliases(conn, account_id, cid)
    lines_in_force(conn, account_id=account_id, customer_id=cid, at_us=at_us)  # records the contracts read
    catalog_repo.names_and_meters(conn, account_id, [x.catalog_product_id for x in seen.lines])
    if seen.lines:
        meter_ids = sorted({x.meter_id for x in seen.lines if x.meter_id})
        meters_repo.live_keys(conn, account_id, meter_ids)
        products = _group(seen.lines, seen.meters)
        _consumed(conn, account_id, cid, seen.aliases, products, seen.meters, at_us, assume=seen.edges)
    if seen.balance:
        repo.balance(conn, account_id, cid)
    return recorder.statements


def _remember(key: tuple[str, str, str], seen: _Seen) -> None:
    if len(_SEEN) >= 4096:
        _SEEN.clear()
    _SEEN[key] = seen


def _customer_entries(conn: sa.Connection, account_id: str, customer_id: str, at_us: int, seen: _Seen) -> list[Any]:
    aliases = repo.customer_aliases(conn, account_id, customer_id)
    if aliases is None:
        raise NotFound(f"Customer {customer_id} not found.")
    seen.aliases = aliases
    lines = lines_in_force(conn, account_id=account_id, customer_id=customer_id, at_us=at_us)
    return entries_for(
        conn,
        account_id=account_id,
        customer_id=customer_id,
        lines=lines,
        at_us=at_us,
        aliases=aliases,
        windows=True,
        seen=seen,
    )


def for_customer(conn: sa.Connection, *, account_id: str, customer_id: str, at_us: int) -> list[dict[str, Any]]:
    """The products consumptions of a customer at at_us (the seed's read). On PostgreSQL its
    statements are predicted from the customer's previous read in this process and fetched
    in one round trip (_Seen); exact whatever the prediction."""
    return read_seen(conn, (account_id, "id", customer_id), at_us, customer_id=customer_id)[1]


def for_alias(conn: sa.Connection, *, account_id: str, alias: str, at_us: int) -> list[dict[str, Any]]:
    """for_customer of the live customer holding this alias (NotFound when none does)."""
    return read_seen(conn, (account_id, "alias", alias), at_us, alias=alias)[1]


def read_seen(
    conn: sa.Connection,
    key: tuple[str, str, str],
    at_us: int,
    *,
    customer_id: str | None = None,
    alias: str | None = None,
) -> tuple["_Seen", list[dict[str, Any]]]:
    """A customer's read (key: account id, "id" or "alias", its value) with its statements
    fetched ahead, as its last read predicts them, and what it used (_Seen: its lines, and
    `reran` when it did not run in the caller's transaction). When that prediction held
    entirely, this one's round trip also ends the transaction; if it then misses a
    statement, the read starts over in a new transaction, unpredicted."""
    account_id = key[0]
    if conn.dialect.name == "sqlite":  # no round trip to save: nothing predicted
        return _read_once(conn, account_id, at_us, customer_id, alias)
    last = _SEEN.get(key)
    statements = _predicted(conn, account_id, at_us, last, alias)
    end = last is not None and last.held
    try:
        with prefetched(conn, statements, end=end) as ahead:
            seen, out = _read_once(conn, account_id, at_us, customer_id, alias)
        seen.held = bool(statements) and ahead.missed == 0 and not ahead.rows
    except Mispredicted:
        seen, out = _read_once(conn, account_id, at_us, customer_id, alias)
        seen.reran = True
    seen.ahead = ahead
    _remember(key, seen)
    return seen, out


def _read_once(
    conn: sa.Connection, account_id: str, at_us: int, customer_id: str | None, alias: str | None
) -> tuple[_Seen, list[dict[str, Any]]]:
    if alias is not None:
        customer_id = repo.customer_of_alias(conn, account_id, alias)
        if customer_id is None:
            raise NotFound(f"No customer holds alias {alias!r}.")
    assert customer_id is not None
    seen = _Seen(customer_id)
    return seen, _customer_entries(conn, account_id, customer_id, at_us, seen)


def for_product(
    conn: sa.Connection,
    *,
    account_id: str,
    product_id: str,
    customer_id: str | None = None,
    alias: str | None = None,
    at_us: int,
) -> dict[str, Any]:
    """One customer's entry for the product (404 when none is in force), or the account-wide total."""
    product = catalog_repo.get(conn, account_id, product_id)
    if product is None:
        raise NotFound(f"Catalog product {product_id} not found.")
    if alias is not None:
        row = customers_repo.get_by_alias(conn, account_id, alias)
        if row is None:
            raise NotFound(f"No customer holds alias {alias!r}.", param="alias")
        customer_id = row["id"]
    if customer_id is not None:
        for entry in for_customer(conn, account_id=account_id, customer_id=customer_id, at_us=at_us):
            if entry["productId"] == product_id:
                return entry
        raise NotFound(f"Customer {customer_id} has no line of product {product_id} in force.")
    lines = account_lines_in_force(conn, account_id=account_id, at_us=at_us, catalog_product_id=product_id)
    by_customer: dict[str, list[LineInForce]] = {}
    for line in lines:
        by_customer.setdefault(line.customer_id, []).append(line)
    provisioned = consumed = Decimal(0)
    access = False
    windows: list[tuple[int, int]] = []
    for cid, group in by_customer.items():
        aliases = customers_repo.aliases_of(conn, account_id, cid)
        for e in _entries(conn, account_id, cid, aliases, group, at_us):
            provisioned = EXACT.add(provisioned, e.provisioned)
            consumed = EXACT.add(consumed, e.consumed)
            access = access or _access(e, _Balance(conn, account_id, cid))
            windows.append(e.window)
    # The account-wide total spans its customers' windows: earliest start, latest end.
    span = (min(w[0] for w in windows), max(w[1] for w in windows)) if windows else None
    return with_window(to_wire(product["id"], product["name"], provisioned, consumed, access), span)
