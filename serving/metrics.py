"""Prometheus metrics, one `CollectorRegistry` per app (so tests can build many apps).

Request counts and latency histograms are labelled by route *template* (`/v1/suggestions/{id}`),
never by raw path, so ids do not explode label cardinality and note text never reaches a label.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "chartcoder_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ("method", "route", "status"),
            registry=r,
        )
        self.latency = Histogram(
            "chartcoder_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.suggestions = Counter(
            "chartcoder_suggestions_served_total",
            "Suggestion sets returned, by model version.",
            ("model_version",),
            registry=r,
        )
        self.suggest_latency = Histogram(
            "chartcoder_model_suggest_seconds",
            "Time the model spends on one note.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.review_decisions = Counter(
            "chartcoder_review_decisions_total",
            "Coder decisions on suggested codes (accept, reject, replace, add) in this process.",
            ("action",),
            registry=r,
        )
        self.acceptance_rate = Gauge(
            "chartcoder_acceptance_rate",
            "Share of explicitly reviewed suggested codes that coders accepted (all time, from "
            "the correction log).",
            registry=r,
        )
        self.reviewed_codes = Gauge(
            "chartcoder_reviewed_codes",
            "Suggested codes with an explicit coder decision (all time), by action.",
            ("action",),
            registry=r,
        )


class MetricsMiddleware:
    """Pure ASGI middleware recording request count and latency per route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
