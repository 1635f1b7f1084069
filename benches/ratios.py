#!/usr/bin/env python3
"""Prints filch/tokio ratios of the medians criterion saved under target/criterion.

Run after `cargo bench --bench <name>`: `python3 benches/ratios.py [group ...]`. Each group must
have `filch` and `tokio` functions (the layout every bench in this directory uses). The optional
per-operation counts turn times per iteration into times per operation.
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
}

root = pathlib.Path("target/criterion")


def median(group, runtime):
    path = root / group / runtime / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"]


groups = sys.argv[1:] or [g for g in OPS if (root / g / "filch").exists()]
print(f"| workload | filch ns/op | tokio ns/op | ratio filch/tokio |")
print(f"|---|---:|---:|---:|")
for group in groups:
    try:
        f, t = median(group, "filch"), median(group, "tokio")
    except FileNotFoundError:
        continue
    ops = OPS.get(group, 1)
    print(f"| {group} | {f / ops:,.0f} | {t / ops:,.0f} | {f / t:.3f} |")
