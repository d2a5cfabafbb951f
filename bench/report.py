"""The tables of a bench run: one per scenario (a column per run), and the capacity sweep's.

``table`` puts each run of a scenario in a column and leaves out the rows no run has;
``capacity_table`` has a row per swept rate and, per system, the highest rate whose reply
p99 stayed under 1 s (``highest_rate``), which ``capacity_figures`` gives the JSON results.
"""

from __future__ import annotations

from typing import Any

from bench.accounting import p99_cell, reply_p99_ms
from bench.figures import Figures
from bench.scenarios import CAPACITY, CAPACITY_P99_MS

_LABEL_WIDTH = 36
_ROWS = (
    ("ack req/s", "ack_rps", ",.0f"),
    ("ack p50 ms", "ack_p50_ms", ".1f"),
    ("ack p99 ms", "ack_p99_ms", ".1f"),
    ("non-200 / conn errors", None, ""),
    ("server CPU µs/request (in window)", "cpu_us_per_request", ",.0f"),
    ("PSS MB (process tree)", "pss_mb", ".0f"),
    ("replies/s at Graph (in window)", "replies_per_s", ",.0f"),
    ("replies/s ÷ own ack req/s", "replies_per_ack", ".2f"),
    ("bound: senders ÷ Lex latency", "reply_bound_per_s", ",.0f"),
    ("end-to-end p50 ms", "e2e_p50_ms", ",.0f"),
    ("end-to-end p99 ms", "e2e_p99_ms", ",.0f"),
    ("drain after load s", "drain_s", ".1f"),
    ("order violations", "order_violations", "d"),
    ("duplicates", "duplicates", "d"),
    ("delivered share", "delivered_share", ".2%"),
    ("not answered when counting stopped", "backlog", ",d"),
    ("Send API calls per acked message", "sends_per_message", ".2f"),
    ("  message sends per acked message", "message_sends_per_message", ".2f"),
    ("  sender actions per acked message", "sender_actions_per_message", ".2f"),
)


def fmt(value: float | int | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _row(label: str, cells: list[str], widths: list[int]) -> str:
    return label.ljust(_LABEL_WIDTH) + "".join(
        c.rjust(w) for c, w in zip(cells, widths, strict=True)
    )


def table(results: list[Figures]) -> str:
    """One column per run; rows no run has are left out."""
    widths = [max(12, len(r.column) + 2) for r in results]
    lines = [_row("", [r.column for r in results], widths)]
    for label, attr, spec in _ROWS:
        if attr is None:
            cells = [f"{r.non_200}/{r.connection_errors}" for r in results]
        elif all(getattr(r, attr) is None for r in results):
            continue
        else:
            cells = [fmt(getattr(r, attr), spec) for r in results]
        lines.append(_row(label, cells, widths))
    return "\n".join(lines)


def highest_rate(results: list[Figures], column: str) -> tuple[float | None, bool]:
    """The highest swept rate up to which every rate kept reply p99 under 1 s, and whether the
    sweep's top rate passed (then the capacity is at least that, not known)."""
    steps = sorted((r for r in results if r.column == column and r.rate), key=lambda r: r.rate or 0)
    best: float | None = None
    for figures in steps:
        if reply_p99_ms(figures) >= CAPACITY_P99_MS:
            return best, False
        best = figures.rate
    return best, True


def capacity_table(results: list[Figures]) -> str:
    """A row per rate: reply p50 / p99 and ack p99 for each system swept."""
    columns = list(dict.fromkeys(r.column for r in results))
    rates = sorted({r.rate for r in results if r.rate is not None})
    heads = [f"{c}: reply p50 / p99 · ack p99" for c in columns]
    widths = [max(40, len(h) + 3) for h in heads]
    lines = [
        "rate req/s".ljust(12) + "".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))
    ]
    for rate in rates:
        cells = [_capacity_cell(results, column, rate) for column in columns]
        lines.append(
            f"{rate:g}".ljust(12) + "".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        )
    for column in columns:
        best, top = highest_rate(results, column)
        shown = "none of the swept rates" if best is None else f"{'≥ ' if top else ''}{best:g}"
        lines.append(f"{column}: highest rate with reply p99 < 1 s: {shown} req/s")
    return "\n".join(lines)


def _capacity_cell(results: list[Figures], column: str, rate: float) -> str:
    found = [r for r in results if r.column == column and r.rate == rate]
    if not found:
        return "— (stopped)"
    f = found[0]
    return f"{fmt(f.e2e_p50_ms, ',.0f')} / {p99_cell(f)} · {f.ack_p99_ms:.1f} ms"


def capacity_figures(results: list[Figures]) -> dict[str, dict[str, Any]]:
    """Per system swept: the highest rate with reply p99 under 1 s, for the JSON results."""
    swept = [r for r in results if r.scenario == CAPACITY]
    out: dict[str, dict[str, Any]] = {}
    for column in dict.fromkeys(r.column for r in swept):
        best, top = highest_rate(swept, column)
        out[column] = {
            "highest_rate_p99_under_1s": best,
            "sweep_top_passed": top,
            "rates": [r.rate for r in swept if r.column == column],
        }
    return out
