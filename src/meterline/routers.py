"""Which routers the app serves and which background tasks it runs.

One line per domain, so adding a domain never touches app.py.
"""

from collections.abc import Awaitable, Callable
from importlib import import_module

from fastapi import APIRouter, FastAPI

DOMAINS = (
    "auth",
    "customers",
    "customfields",
    "meters",
    "events",
    "catalog",
    "plans",
    "contracts",
    "credits",
    "measurements",
    "consumption",
    "invoices",
    "webhooks",
    "aggregation",
    "cloudusage",
    "ops",
    "ui",
)

# Each entry: "module:function" where function(app) starts a task and returns an async stop().
BACKGROUND: tuple[str, ...] = (
    "meterline.webhooks.worker:start",
    "meterline.webhooks.thresholds:start",
    "meterline.invoices.job:start",
    "meterline.meters.rebuilds:start",
    "meterline.usage.backlog:start",
)


# Routers that live outside a domain's endpoints.py (same tag, another path prefix).
EXTRA_ROUTERS = ("meterline.events.v2",)


def ROUTERS() -> list[APIRouter]:
    modules = [*(f"meterline.{d}.endpoints" for d in DOMAINS), *EXTRA_ROUTERS]
    return [import_module(m).router for m in modules]


def background_tasks() -> list[Callable[[FastAPI], Callable[[], Awaitable[None]]]]:
    out = []
    for spec in BACKGROUND:
        module, _, func = spec.partition(":")
        out.append(getattr(import_module(module), func))
    return out
