"""Counters and gauges rendered as Prometheus text (exposition format 0.0.4), with no dependency.

One ``Metrics`` object is built by the composition root and passed to whoever records something, so
tests each get their own numbers instead of sharing a module-level registry.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

LabelValues = tuple[str, ...]


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class _Metric:
    """A named family of series, one per combination of label values."""

    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Iterable[str] = ()) -> None:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        self.labelnames = tuple(labelnames)
        for label in self.labelnames:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r} for {name}")
        self.name = name
        self.help_text = help_text
        self._lock = threading.Lock()
        # An unlabelled metric always has its one series, so a scrape shows 0 before anything happens.
        self._values: dict[LabelValues, float] = {} if self.labelnames else {(): 0.0}

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[name]) for name in self.labelnames)

    def value(self, **labels: str) -> float:
        """The current value of one series (0 if it was never touched)."""
        key = self._key(labels)
        with self._lock:
            return self._values.get(key, 0.0)

    def _add(self, amount: float, labels: dict[str, str]) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def render(self) -> str:
        lines = [f"# HELP {self.name} {_escape_help(self.help_text)}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            series = sorted(self._values.items())
        for key, value in series:
            if key:
                pairs = ",".join(
                    f'{name}="{_escape_label_value(label)}"'
                    for name, label in zip(self.labelnames, key, strict=True)
                )
                lines.append(f"{self.name}{{{pairs}}} {_format_value(value)}")
            else:
                lines.append(f"{self.name} {_format_value(value)}")
        return "\n".join(lines) + "\n"


class Counter(_Metric):
    """Only goes up, so Prometheus can compute rates across restarts."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter cannot go down")
        self._add(amount, labels)


class Gauge(_Metric):
    """A value that is set or moves both ways (a queue length, a lag)."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self._add(amount, labels)

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self._add(-amount, labels)


class Registry:
    """Holds metrics in declaration order and renders them all for one scrape."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def _register(self, metric: _Metric) -> None:
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name} is already registered")
            self._metrics[metric.name] = metric

    def counter(self, name: str, help_text: str, labelnames: Iterable[str] = ()) -> Counter:
        metric = Counter(name, help_text, labelnames)
        self._register(metric)
        return metric

    def gauge(self, name: str, help_text: str, labelnames: Iterable[str] = ()) -> Gauge:
        metric = Gauge(name, help_text, labelnames)
        self._register(metric)
        return metric

    def render(self) -> str:
        with self._lock:
            metrics = list(self._metrics.values())
        return "".join(metric.render() for metric in metrics)


class Metrics:
    """The metrics Tend records; adapters and workers receive this object rather than import one."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.http_requests = self.registry.counter(
            "tend_http_requests_total",
            "HTTP requests served, by route template and status.",
            ("route", "status"),
        )
        self.events_handled = self.registry.counter(
            "tend_events_handled_total",
            "Inbound platform events handled by the engine.",
            ("platform", "kind", "outcome"),
        )
        self.messages_sent = self.registry.counter(
            "tend_messages_sent_total", "Messages delivered to a platform.", ("platform",)
        )
        self.messages_failed = self.registry.counter(
            "tend_messages_failed_total", "Messages a platform did not accept.", ("platform",)
        )
        self.scheduler_lag_seconds = self.registry.gauge(
            "tend_scheduler_lag_seconds", "How late the last scheduler tick ran, in seconds."
        )
        self.outbox_pending = self.registry.gauge(
            "tend_outbox_pending", "Outbox messages waiting to be delivered."
        )
        self.inbound_queued = self.registry.gauge(
            "tend_inbound_queued",
            "Platform events acked and not handled yet (every replica's), as of this process's last poll.",
        )
        self.inbound_oldest_seconds = self.registry.gauge(
            "tend_inbound_oldest_seconds",
            "Age of the oldest acked event not handled yet (anonymous ones keep no time: not counted).",
        )
        self.inbound_handled = self.registry.counter(
            "tend_inbound_handled_total",
            "Acked events taken from the inbound queue, by outcome (ok, duplicate, error, retry, taken_over, "
            "dropped).",
            ("platform", "outcome"),
        )
        self.inbound_held = self.registry.gauge(
            "tend_inbound_held",
            "Acked events this process holds in memory (waiting or under way); at most its hold limit.",
            ("platform",),
        )
        self.inbound_passed = self.registry.counter(
            "tend_inbound_passed_total",
            "Acked events stored with no lease because this process held its limit: any replica takes them.",
            ("platform",),
        )
        self.inbound_refused = self.registry.counter(
            "tend_inbound_refused_total",
            "Events refused before storing because the queue was full (the person was told Tend is busy, "
            "or the platform sends the event again later).",
            ("platform",),
        )
        self.inbound_max_queued = self.registry.gauge(
            "tend_inbound_max_queued",
            "The bound on tend_inbound_queued (TEND_INBOUND_MAX_QUEUED): from it on, new events are refused.",
        )

    def render(self) -> str:
        return self.registry.render()
