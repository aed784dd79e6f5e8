"""The app factory: settings -> database -> routers, handlers, middleware."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from meterline import __version__
from meterline.auth import service as auth_service
from meterline.auth import tokens
from meterline.config import Settings
from meterline.db.engine import Database, open_database
from meterline.kit import handlers, metrics, openapi
from meterline.kit.auth import AuthState
from meterline.kit.middleware import RequestContext
from meterline.kit.ratelimit import Limiter, LocalBucket, RedisBucket
from meterline.logs import configure_logging
from meterline.routers import ROUTERS, background_tasks


def _limiter(settings: Settings) -> Limiter:
    if settings.redis_url:
        return RedisBucket(
            settings.redis_url,
            settings.rate_limit_per_second,
            settings.rate_limit_burst,
            timeout=settings.redis_timeout_seconds,
        )
    return LocalBucket(settings.rate_limit_per_second, settings.rate_limit_burst)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build the app. The database must already be migrated (`meterline migrate`)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    metrics.enabled = settings.metrics
    database = db or open_database(settings)
    secret = auth_service.ensure_jwt_secret(database, settings.jwt_secret)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stops = [start(app) for start in background_tasks()] if settings.background_jobs else []
        try:
            yield
        finally:
            for stop in stops:
                await stop()
            if db is None:
                database.dispose()
            metrics.mark_process_dead()

    # FastAPIOffline: /docs and /redoc load swagger-ui and redoc from the installed
    # fastapi-offline package (mounted at /static-offline-docs), never from a CDN.
    app = FastAPIOffline(
        title="Vayu API",
        version="1.0.0",
        summary=f"Meterline {__version__}: a self-hostable server of the Vayu API",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.jwt_secret = secret
    app.state.auth = AuthState(
        verify_token=partial(tokens.verify_token, secret=secret),
        key_is_active=auth_service.KeyStatusCache(database, settings.key_status_ttl_seconds),
        limiter=_limiter(settings),
    )
    handlers.install(app)
    openapi.install(app)
    for router in ROUTERS():
        app.include_router(router)
    app.add_middleware(
        RequestContext,
        body_timeout=settings.body_timeout_seconds,
        access_log=settings.access_log,
        access_log_sample=settings.access_log_sample,
    )
    return app
