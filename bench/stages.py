"""Where a turn's time goes: the bridge's stage histograms, read from its ``/metrics`` page.

``read_stages(base_url)`` fetches the Prometheus text of a running bridge from its metrics
listener (``BRIDGE_METRICS_PORT``: ``bench.servers.Server.metrics_url``; open there when
``BRIDGE_METRICS_TOKEN`` is unset, as in the bench) and returns, per label set, the count and
mean of the histograms in ``STAGE_METRICS``: ``bridge_turn_stage_seconds`` (label ``stage``)
and ``bridge_queue_write_seconds`` (labels ``change``, ``phase``). A bridge without them (or
with nothing observed yet) gives an empty list. ``stage_table`` prints the result as
"stage | count | mean ms".
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

# metric → (its name in the table, the labels that tell its series apart)
STAGE_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bridge_turn_stage_seconds": ("turn", ("stage",)),
    "bridge_queue_write_seconds": ("queue write", ("change", "phase")),
}
_TIMEOUT = 5.0
_NAME_WIDTH = 36


@dataclass(frozen=True)
class Stage:
    """One label set of one stage histogram: how often it was observed and its mean."""

    metric: str
    labels: dict[str, str]
    count: int
    mean_ms: float

    @property
    def name(self) -> str:
        title, keys = STAGE_METRICS[self.metric]
        return f"{title}: {', '.join(self.labels.get(k, '') for k in keys)}"


def read_stages(base_url: str, *, timeout: float = _TIMEOUT) -> list[Stage]:
    """The stage histograms of the bridge whose metrics listener is at ``base_url``; raises
    ``OSError`` if unreachable."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=timeout) as response:
        text = response.read().decode("utf-8")
    return stages_from_text(text)


def stages_from_text(text: str) -> list[Stage]:
    """Count and mean (``_sum`` ÷ ``_count``) per label set; label sets never observed are
    left out. Ordered as ``STAGE_METRICS``, then as the series first appear."""
    totals: dict[tuple[str, tuple[str, ...]], list[float]] = {}  # → [count, sum]
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            metric, _, suffix = sample.name.rpartition("_")
            if metric not in STAGE_METRICS or suffix not in ("count", "sum"):
                continue
            values = tuple(sample.labels.get(k, "") for k in STAGE_METRICS[metric][1])
            total = totals.setdefault((metric, values), [0.0, 0.0])
            total[0 if suffix == "count" else 1] += sample.value
    order = list(STAGE_METRICS)
    return [
        Stage(
            metric, dict(zip(STAGE_METRICS[metric][1], values, strict=True)), int(n), s / n * 1000
        )
        for (metric, values), (n, s) in sorted(totals.items(), key=lambda kv: order.index(kv[0][0]))
        if n > 0
    ]


def stage_table(stages: list[Stage]) -> str:
    """A row per stage: its name, count and mean in ms."""
    lines = ["stage".ljust(_NAME_WIDTH) + "count".rjust(10) + "mean ms".rjust(10)]
    for stage in stages:
        lines.append(
            stage.name.ljust(_NAME_WIDTH)
            + f"{stage.count:,d}".rjust(10)
            + f"{stage.mean_ms:.1f}".rjust(10)
        )
    return "\n".join(lines)
