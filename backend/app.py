"""The Litestar application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.openapi import OpenAPIConfig

from backend import openapi, problems
from backend.auth.access_middleware import AccessLogMiddleware
from backend.auth.authorize import authorize
from backend.auth.guards import authenticated
from backend.compression import SyncCompression
from backend.database import DatabaseUrl, start_embedded
from backend.metrics import RequestMetrics
from backend.routes.admin import AdminController
from backend.routes.alerts import AlertController
from backend.routes.auth import AuthController, DeviceController
from backend.routes.caseload import CaseloadController, TenantsWithoutServiceController
from backend.routes.concerns import ConcernController
from backend.routes.consent import ConsentController
from backend.routes.deps import DEPENDENCIES
from backend.routes.dwellings import DwellingController, LeaseController
from backend.routes.handover_board import HandoverBoardController
from backend.routes.handovers import HandoverController, TenantResponsibilityController
from backend.routes.health import HealthController
from backend.routes.lone_work import CheckInController, MeController
from backend.routes.nav import NavNotificationController
from backend.routes.nav_inbox import NavInboxController
from backend.routes.rent import RentCaseController, TenantRentCasesController
from backend.routes.review_inbox import ReviewInboxController
from backend.routes.risk import RiskController
from backend.routes.safety_register import SafetyRegisterController
from backend.routes.sync import SyncController
from backend.routes.tenants import TenantController
from backend.routes.visits import VisitController
from backend.runtime import ProjectionNotCaughtUp, Runtime, utc_now
from backend.settings import Settings
from backend.web.app_parts import CSRF_OPT_OUT, csrf_config, web_routers
from backend.web.render import template_config
from projections.waiter import PositionBeyondHead

MAX_BODY_BYTES = 1_048_576
# A route whose opt says so is answered without compression (all but the sync routes).
UNCOMPRESSED = "uncompressed"


def _not_caught_up(_: Request[Any, Any, Any], exc: ProjectionNotCaughtUp) -> Response[Any]:
    return problems.problem(
        503,
        "projection-behind",
        str(exc),
        [{"field": "min_position", "rule": "reached_in_time", "detail": str(exc)}],
        headers={"Retry-After": "1"},
    )


def _beyond_head(_: Request[Any, Any, Any], exc: PositionBeyondHead) -> Response[Any]:
    detail = (
        f"min_position {exc.position} is beyond the newest event ({exc.head}); "
        "use a position a command answered"
    )
    error = {"field": "min_position", "rule": "not_beyond_head", "detail": detail}
    return problems.problem(422, "validation", "The request is not valid", [error])


def create_app(
    settings: Settings | None = None,
    *,
    database: DatabaseUrl | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Litestar:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = database
        if db is None:
            db = (
                DatabaseUrl.parse(settings.database_url)
                if settings.database_url
                else start_embedded(settings.data_dir / "pgdata")
            )
        runtime = await Runtime.open(settings, db, clock)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.close()

    app = Litestar(
        route_handlers=[
            TenantsWithoutServiceController,
            TenantController,
            VisitController,
            CheckInController,
            MeController,
            SyncController,
            HealthController,
            AlertController,
            HandoverController,
            TenantResponsibilityController,
            DwellingController,
            LeaseController,
            ConcernController,
            RentCaseController,
            TenantRentCasesController,
            NavNotificationController,
            ConsentController,
            SafetyRegisterController,
            NavInboxController,
            ReviewInboxController,
            HandoverBoardController,
            RiskController,
            CaseloadController,
            AuthController,
            DeviceController,
            AdminController,
            # The web pages (backend/web, docs/web.md): same guards, same access log.
            *web_routers(),
        ],
        dependencies=DEPENDENCIES,
        # Authentication, authorization and the access log are applied here, once, for
        # every route: a bearer token everywhere but the public routes
        # (backend/auth/guards.py), the policy table's rule for the route
        # (backend/auth/authorize.py), and one access-log row per request about a tenant
        # (backend/auth/access_middleware.py).
        guards=[authenticated, authorize],
        middleware=[AccessLogMiddleware()],
        # Request count and latency per route template, shown on GET /metrics.
        plugins=[RequestMetrics()],
        lifespan=[lifespan],
        exception_handlers={
            **problems.EXCEPTION_HANDLERS,
            ProjectionNotCaughtUp: _not_caught_up,
            PositionBeyondHead: _beyond_head,
        },
        request_max_body_size=MAX_BODY_BYTES,
        # Tablets sync over weak mobile links: the sync answers are gzipped for a client
        # that accepts it (decision 58). Other answers are small and local: not worth the CPU.
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=1024,
            gzip_compress_level=1,
            exclude_opt_key=UNCOMPRESSED,
            # igzip in one shot; the access-log write begins first (backend/compression.py).
            middleware_class=SyncCompression,
        ),
        opt={UNCOMPRESSED: True, CSRF_OPT_OUT: True},
        template_config=template_config(),
        csrf_config=csrf_config(settings),
        openapi_config=OpenAPIConfig(
            title="Folgja",
            version="0.1.0",
            components=openapi.COMPONENTS,
            security=openapi.SECURITY,
        ),
        logging_config=None,
    )
    # Every route's refusals, derived from the policy table and its signature.
    openapi.document(app)
    return app


def app_from_env() -> Litestar:
    """Factory for the ASGI server: settings from the environment."""
    logging.basicConfig(level=logging.INFO)
    return create_app()
