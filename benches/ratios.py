#!/usr/bin/env python3
"""Prints filch/tokio ratios of the medians criterion saved under target/criterion.

Run after `cargo bench --bench scheduler`, `--bench reactor` and/or `--bench combinators`:
`python3 benches/ratios.py [group ...]`. Each group has `filch` and `tokio` functions (the layout
every bench in this directory uses). Times per iteration are divided by the operations per
iteration below; `timer_lateness` reports a mean lateness, not a time per operation.
"""
import json
import pathlib
import sys

# Operations per iteration of each workload, for ns per operation.
OPS = {
    "spawn_many_local": 10_000,
    "spawn_many_remote_idle": 10_000,
    "spawn_many_remote_busy1": 10_000,
    "spawn_many_remote_busy2": 1_000,
    "ping_pong": 1_000,
    "yield_many": 200_000,
    "chained_spawn": 1_000,
    "timers_fire": 100_000,
    "timers_cancel": 100_000,
    "timer_lateness": 1,
    "tcp_echo": 100_000,
    "join_all_10k": 10_000,
    "task_group_10k": 10_000,
    "select_loop": 10_000,
}

root = pathlib.Path("target/criterion")


def median(group, runtime):
    path = root / group / runtime / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"]


groups = sys.argv[1:] or [g for g in OPS if (root / g / "filch").exists()]
print("| workload | filch | tokio | ratio filch/tokio |")
print("|---|---:|---:|---:|")
for group in groups:
    try:
        f, t = median(group, "filch"), median(group, "tokio")
    except FileNotFoundError:
        continue
    ops = OPS.get(group, 1)
    if group == "timer_lateness":
        cells = f"{f / 1000:,.1f} µs mean lateness | {t / 1000:,.1f} µs mean lateness"
    elif group == "tcp_echo":
        cells = f"{ops / (f / 1e9):,.0f} round trips/s | {ops / (t / 1e9):,.0f} round trips/s"
    else:
        cells = f"{f / ops:,.0f} ns/op | {t / ops:,.0f} ns/op"
    print(f"| {group} | {cells} | {f / t:.3f} |")
