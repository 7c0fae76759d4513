"""Prometheus metrics, one registry per app (no process-global collectors), so several apps
(tests, or a reload of the factory) never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lexgate_http_requests",
            "HTTP requests answered, by route template, method and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lexgate_http_request_duration_seconds",
            "Time from request start to the last byte of the response",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "lexgate_decisions",
            "Decisions answered, by overall status",
            ["status"],
            registry=self.registry,
        )
        self.bundle = Gauge(
            "lexgate_bundle_info",
            "The policy bundle being served (1 for the loaded hash)",
            ["hash"],
            registry=self.registry,
        )
        self.bundle_loaded = Gauge(
            "lexgate_bundle_loaded_timestamp_seconds",
            "When the serving bundle was swapped in",
            registry=self.registry,
        )
        self.reloads = Counter(
            "lexgate_policy_reloads",
            "Policy reload attempts, by result (swapped, unchanged, rejected)",
            ["result"],
            registry=self.registry,
        )
        self.log_appends = Counter(
            "lexgate_decision_log_appends",
            "Entries appended to the decision log",
            registry=self.registry,
        )

    def set_bundle(self, bundle_hash: str, loaded_at: float) -> None:
        self.bundle.clear()
        self.bundle.labels(hash=bundle_hash).set(1)
        self.bundle_loaded.set(loaded_at)

    def render(self) -> bytes:
        return generate_latest(self.registry)
