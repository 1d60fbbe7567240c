"""Request metrics for ``GET /metrics``: count and latency per route template.

Litestar's Prometheus integration (``litestar.plugins.prometheus``) measures every request
that reaches a route, labelled by method, route *template* (``group_path=True``: ``/visits
/{visit_id:uuid}/completion``, never the path with its ids) and status. Its middleware
keeps its metrics in class attributes on ``prometheus_client``'s global registry; here
they live in a registry of the app's own, so every app (one per test) counts only its own
requests. ``GET /metrics`` (backend/routes/health.py) prints them after the projection
gauges it reads from the database.

A request that matches no route (404, 405) never reaches a route's middleware and is not
counted: no raw path can become a label. With several server workers each process counts
its own requests (the scrape reaches one of them).

The scheduled jobs' series (:func:`job_metrics_text`) come from ``scheduler_jobs``, which
whichever process ran a job wrote, so every worker reports the same runs; only
``folgja_scheduler_leader`` is the answering process's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import prometheus_client
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.plugins import InitPluginProtocol
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from backend.jobs import JobStatus

PREFIX = "folgja_http"
STATE_KEY = "request_metrics"
# Seconds; the cheapest GETs take about a millisecond.
BUCKETS: list[str | float] = [
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
]

# No ``*_created`` series next to each counter and histogram (the 0.0.4 text format does
# not need them; they would double the output).
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


@dataclass
class _Config(PrometheusConfig):
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    metrics: dict[str, MetricWrapperBase] = field(default_factory=dict)


class _Middleware(PrometheusMiddleware):
    """Litestar's middleware, with its metrics in the config's registry."""

    def _metric(
        self, kind: type[MetricWrapperBase], suffix: str, doc: str, labels: dict[str, Any]
    ) -> Any:
        config = cast(_Config, self._config)
        name = f"{config.prefix}_{suffix}"
        metric = config.metrics.get(name)
        if metric is None:
            extra: dict[str, Any] = {"buckets": config.buckets} if kind is Histogram else {}
            metric = kind(name, doc, [*labels], registry=config.registry, **extra)
            config.metrics[name] = metric
        return metric

    def request_count(self, labels: dict[str, str | int | float]) -> Counter:
        return cast(Counter, self._metric(Counter, "requests_total", "Requests", labels))

    def request_time(self, labels: dict[str, str | int | float]) -> Histogram:
        doc = "Request duration (to the last body chunk), in seconds"
        return cast(Histogram, self._metric(Histogram, "request_duration_seconds", doc, labels))

    def requests_in_progress(self, labels: dict[str, str | int | float]) -> Gauge:
        doc = "Requests being served now"
        return cast(Gauge, self._metric(Gauge, "requests_in_progress", doc, labels))

    def requests_error_count(self, labels: dict[str, str | int | float]) -> Counter:
        doc = "Requests answered with a 5xx status"
        return cast(Counter, self._metric(Counter, "requests_error_total", doc, labels))


class RequestMetrics(InitPluginProtocol):
    """The plugin: the middleware outermost, and the registry in ``app.state``."""

    def __init__(self) -> None:
        self.config = _Config(
            app_name="folgja",
            prefix=PREFIX,
            group_path=True,
            buckets=BUCKETS,
            middleware_class=_Middleware,
        )

    @property
    def registry(self) -> CollectorRegistry:
        return self.config.registry

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, self.config.middleware)
        app_config.state[STATE_KEY] = self
        return app_config

    def render(self) -> str:
        """The request metrics in the Prometheus text format (0.0.4-compatible)."""
        return prometheus_client.generate_latest(self.registry).decode()


def request_metrics_text(state: State) -> str:
    """What the app's :class:`RequestMetrics` has counted; empty if it has none."""
    metrics = state.get(STATE_KEY)
    return metrics.render() if isinstance(metrics, RequestMetrics) else ""


class _JobCollector(Collector):
    """The jobs' records as Prometheus families, read fresh at each scrape (the values live
    in the database, not in this process's counters)."""

    def __init__(self, jobs: Iterable[JobStatus], *, leads: bool) -> None:
        self._jobs = list(jobs)
        self._leads = leads

    def collect(self) -> Iterator[Metric]:
        leader = GaugeMetricFamily(
            "folgja_scheduler_leader",
            "1 if the process answering this scrape leads the scheduler (runs the jobs).",
        )
        leader.add_metric([], int(self._leads))
        yield leader
        runs = CounterMetricFamily(
            "folgja_scheduler_job_runs",
            "Runs of the job recorded, by the leader's ticks and folgja jobs run.",
            labels=["job"],
        )
        failures = CounterMetricFamily(
            "folgja_scheduler_job_failures", "Runs of the job that failed.", labels=["job"]
        )
        success = GaugeMetricFamily(
            "folgja_scheduler_job_last_success_timestamp_seconds",
            "Unix time the job's last successful run ended; 0 if it never has.",
            labels=["job"],
        )
        for job in self._jobs:
            runs.add_metric([job.name], job.runs)
            failures.add_metric([job.name], job.failures)
            at = job.last_success_at
            success.add_metric([job.name], at.timestamp() if at is not None else 0.0)
        yield from (runs, failures, success)


def job_metrics_text(jobs: Iterable[JobStatus], *, leads: bool) -> str:
    """The scheduled jobs' series in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_JobCollector(jobs, leads=leads))
    return prometheus_client.generate_latest(registry).decode()
