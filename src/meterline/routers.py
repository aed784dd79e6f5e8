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
)

# Each entry: "module:function" where function(app) starts a task and returns an async stop().
BACKGROUND: tuple[str, ...] = (
    "meterline.webhooks.worker:start",
    "meterline.webhooks.thresholds:start",
    "meterline.invoices.job:start",
)


def ROUTERS() -> list[APIRouter]:
    return [import_module(f"meterline.{d}.endpoints").router for d in DOMAINS]


def background_tasks() -> list[Callable[[FastAPI], Callable[[], Awaitable[None]]]]:
    out = []
    for spec in BACKGROUND:
        module, _, func = spec.partition(":")
        out.append(getattr(import_module(module), func))
    return out
