"""The issue's targets, as ratios of a run's own figures: one line each, "met" or "missed".

Capacity (bridge ÷ naive, reply p99 under 1 s), saturation (replies/s against the naive
bridge and against its own acks, reply p50, PSS), both also against the naive bridge that asks
Lex inline (context: the issue sets no target against it), light load (ack p99, Send API calls per
message), realistic upstream latency (reply p50 against one Lex and one Graph round trip plus
25 ms), the ack path's CPU against the bare app, and replies/s against the senders' bound.
Each target is stated only when the run has the figures it needs.
"""

from __future__ import annotations

from bench.figures import Figures
from bench.report import highest_rate
from bench.scenarios import (
    ACK_ALONE,
    CAPACITY,
    LEAN,
    LIGHT,
    NAIVE_LEX,
    REALISTIC,
    REALISTIC_SLACK_MS,
    SATURATION,
)

_BRIDGES = ("bridge", LEAN)  # the bridge's columns: its defaults and the lean setting
_By = dict[tuple[str, str], Figures]  # (scenario, column) → figures


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def summary(results: list[Figures]) -> list[str]:
    """The issue's targets, as ratios of this run's own figures."""
    by = {(r.scenario, r.column): r for r in results}
    lines = _capacity_lines(results)
    for column in _BRIDGES:
        lines += _saturation_lines(by, column)
    for column in _BRIDGES:
        lines += _light_lines(by, column)
    for column in _BRIDGES:
        lines += _realistic_lines(by, column)
    lines += _ack_alone_lines(by)
    lines += [
        f"{r.scenario}: replies/s ÷ bound: {r.replies_per_s / r.reply_bound_per_s:.0%}"
        for r in results
        if r.reply_bound_per_s and r.replies_per_s is not None
    ]
    return lines


def _capacity_lines(results: list[Figures]) -> list[str]:
    lines = _capacity_against(results, "naive")
    return lines + _context(_capacity_against(results, NAIVE_LEX))


def _context(lines: list[str]) -> list[str]:
    """Lines against the inline bridge that asks Lex: no target of the issue, context."""
    return [line.split(" (target", 1)[0] + " (context, no target)" for line in lines]


def _capacity_against(results: list[Figures], baseline: str) -> list[str]:
    swept = [r for r in results if r.scenario == CAPACITY]
    naive_cap, naive_top = highest_rate(swept, baseline)
    lines = []
    for column in _BRIDGES:
        if not naive_cap or not any(r.column == column for r in swept):
            continue
        bridge_cap, bridge_top = highest_rate(swept, column)
        shown = f"{'≥ ' if naive_top else ''}{naive_cap:g}"
        bridge_shown = (
            "none" if bridge_cap is None else f"{'≥ ' if bridge_top else ''}{bridge_cap:g}"
        )
        ratio = (bridge_cap or 0) / naive_cap
        if naive_top and bridge_top:
            verdict = "not known: both passed the sweep's top rate"
        else:
            verdict = _verdict(ratio >= 1.0)
        lines.append(
            f"capacity (reply p99 < 1 s), {column}: {bridge_shown} ÷ {baseline} {shown} req/s = "
            f"{ratio:.2f}× (target ≥ 1.0×: {verdict})"
        )
    return lines


def _saturation_lines(by: _By, column: str) -> list[str]:
    bridge, naive = by.get((SATURATION, column)), by.get((SATURATION, "naive"))
    if bridge is None:
        return []
    lines = []
    if naive:
        lines.append(
            f"saturation, {column}: ÷ naive ack req/s {bridge.ack_rps / naive.ack_rps:.2f}×"
        )
    if bridge.replies_per_s is not None and naive and naive.replies_per_s:
        ratio = bridge.replies_per_s / naive.replies_per_s
        lines.append(
            f"saturation, {column}: ÷ naive replies/s {ratio:.2f}× "
            f"(target ≥ 1.0×: {_verdict(ratio >= 1.0)})"
        )
    with_lex = by.get((SATURATION, NAIVE_LEX))
    if bridge.replies_per_s is not None and with_lex and with_lex.replies_per_s:
        ratio = bridge.replies_per_s / with_lex.replies_per_s
        lines += _context([f"saturation, {column}: ÷ {NAIVE_LEX} replies/s {ratio:.2f}×"])
    return lines + _saturation_targets(bridge, column)


def _saturation_targets(bridge: Figures, column: str) -> list[str]:
    """The bridge's own saturation targets: replies per ack, reply p50 and PSS."""
    lines = []
    if bridge.replies_per_ack is not None:
        lines.append(
            f"saturation, {column}: replies/s ÷ own ack req/s {bridge.replies_per_ack:.2f}× "
            f"(target ≥ 0.9×: {_verdict(bridge.replies_per_ack >= 0.9)})"
        )
    if bridge.e2e_p50_ms is not None:
        lines.append(
            f"saturation, {column}: reply p50 {bridge.e2e_p50_ms:,.0f} ms "
            f"(target ≤ 250 ms: {_verdict(bridge.e2e_p50_ms <= 250)})"
        )
    if bridge.pss_mb is not None:
        lines.append(
            f"saturation, {column}: PSS {bridge.pss_mb:.0f} MB "
            f"(target ≤ 100 MB: {_verdict(bridge.pss_mb <= 100)})"
        )
    return lines


def _light_lines(by: _By, column: str) -> list[str]:
    light = by.get((LIGHT, column))
    if light is None:
        return []
    lines = [
        f"light load 100 req/s, {column}: ack p99 {light.ack_p99_ms:.1f} ms "
        f"(target ≤ 25 ms: {_verdict(light.ack_p99_ms <= 25)})"
    ]
    if light.sends_per_message is not None:
        fast = light.sender_action_calls == 0 and light.other_calls == 0
        fast = fast and light.message_sends == light.acked
        lines.append(
            f"light load 100 req/s, {column}: Send API calls per message "
            f"{light.sends_per_message:.2f} = {light.message_sends_per_message:.2f} message "
            f"sends + {light.sender_actions_per_message:.2f} sender actions (target: one "
            f"per reply part, here 1 part: {_verdict(fast)})"
        )
    return lines


def _realistic_lines(by: _By, column: str) -> list[str]:
    real = by.get((REALISTIC, column))
    if real is None or real.e2e_p50_ms is None:
        return []
    lex, graph = real.lex_latency_ms, real.graph_latency_ms
    bound = lex + graph + REALISTIC_SLACK_MS
    lines = [
        f"realistic {real.rate or 0:g} req/s (Graph {graph:g} ms, Lex {lex:g} ms), {column}: "
        f"reply p50 {real.e2e_p50_ms:,.0f} ms (target ≤ {lex:g} + {graph:g} + "
        f"{REALISTIC_SLACK_MS:g} = {bound:g} ms: {_verdict(real.e2e_p50_ms <= bound)})"
    ]
    if real.sends_per_message is not None and real.e2e_p99_ms is not None:
        lines.append(
            f"realistic {real.rate or 0:g} req/s, {column}: reply p99 "
            f"{real.e2e_p99_ms:,.0f} ms, ack p99 {real.ack_p99_ms:.1f} ms, Send API calls "
            f"per message {real.sends_per_message:.2f} = "
            f"{real.message_sends_per_message:.2f} message sends + "
            f"{real.sender_actions_per_message:.2f} sender actions"
        )
    return lines


def _ack_alone_lines(by: _By) -> list[str]:
    alone, bare = by.get((ACK_ALONE, "bridge")), by.get((SATURATION, "bare"))
    if not (alone and bare and alone.cpu_us_per_request and bare.cpu_us_per_request):
        return []
    ratio = alone.cpu_us_per_request / bare.cpu_us_per_request
    return [
        f"ack path alone ÷ bare CPU µs/request: {ratio:.2f}× (target ≤ 2×: {_verdict(ratio <= 2)})"
    ]
