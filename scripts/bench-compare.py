#!/usr/bin/env python3
"""The table of scripts/bench-compare.sh: reads RESULTS/runs/round<N>-<A|B>/results.json (as
written by `ringlink bench --results`) and writes compare.md and compare.json next to them.

Per cell: the median of A and of B over the rounds, B/A (the median of the per-round ratios) with
their min-max (each round's A and B ran back to back), the same ratio normalised by the
cell's in-run peer (its group's reference cell at the same size), and a verdict from the per-round
ratios only (see VERDICTS): for a cell with a peer, the raw and the peer-relative ratios must
agree, so that a drift of the whole machine between two runs is not read as the build's doing. Usage: bench-compare.py RESULTS_DIR
"""
import json
import os
import re
import statistics
import sys

DROP = 0.95   # the criterion: no cell slower by more than 5%
GAIN = 1.05

VERDICTS = [
    ("slower", "every round's B/A < 0.95: B is slower by more than 5% in every round"
               " (for a cell with an in-run peer: raw and relative to the peer both)"),
    ("faster", "every round's B/A > 1.05"),
    ("same", "every round's B/A within [0.95, 1.05]"),
    ("no drop", "every round's B/A >= 0.95, some above 1.05"),
    ("noise", "the rounds straddle 0.95 with a median >= 0.95, or raw and relative-to-peer ratios disagree:"
              " the spread cannot exclude a 5% drop, nor show one"),
    ("noise-slow", "the rounds straddle 0.95 with a median below it: rerun with more rounds"),
    ("-", "fewer than 2 rounds with figures on both sides"),
]


def combined(series):
    """The verdict of every series of per-round ratios together (the raw B/A, and B/A relative to
    the in-run peer where there is one): a verdict only where they agree. A raw drop that the
    peer's own drop explains is the machine drifting between runs, not the build."""
    vs = [verdict(s) for s in series if s]
    if not vs or vs[0] == "-":
        return "-"
    vs = [v for v in vs if v != "-"]
    if len(set(vs)) == 1:
        return vs[0]
    if all(v in ("same", "no drop", "faster") for v in vs):
        return "no drop"
    if all(v in ("slower", "noise-slow") for v in vs):
        return "noise-slow"
    return "noise"


def verdict(ratios):
    if len(ratios) < 2:
        return "-"
    lo, hi = min(ratios), max(ratios)
    if hi < DROP:
        return "slower"
    if lo > GAIN:
        return "faster"
    if lo >= DROP:
        return "same" if hi <= GAIN else "no drop"
    return "noise-slow" if statistics.median(ratios) < DROP else "noise"


def label(c):
    return "%s %s %s" % (c["group"], "stream" if c["size"] == 0 else "%dB" % c["size"], c["variant"])


def measure(c):
    """The figure ratios compare: packets/s for sized cells, bits/s for streams (as ringlink bench)."""
    v = c.get("median_gbps") if c["size"] == 0 else c.get("median_pps")
    return v if isinstance(v, (int, float)) and v > 0 and not c.get("error") and not c.get("skipped") else None


def load(results):
    """{round: {side: {label: cell}}} from every run's results.json."""
    runs = {}
    d = os.path.join(results, "runs")
    for name in sorted(os.listdir(d)):
        m = re.fullmatch(r"round(\d+)-([AB])", name)
        f = os.path.join(d, name, "results.json")
        if not m or not os.path.isfile(f):
            continue
        with open(f) as fh:
            cells = json.load(fh)["cells"]
        runs.setdefault(int(m.group(1)), {})[m.group(2)] = {label(c): c for c in cells}
    return runs


def peer_of(cells, c):
    for x in cells.values():
        if x["reference"] and x["group"] == c["group"] and x["size"] == c["size"]:
            return x
    return None


def fmt_rate(c, v):
    if v is None:
        return "-"
    return "%.3f Mpps" % (v / 1e6) if c["size"] != 0 else "%.2f Gbit/s" % v


def fmt_ratio(vals):
    if not vals:
        return "-"
    return "%.3f (%.2f–%.2f)" % (statistics.median(vals), min(vals), max(vals)) if len(vals) > 1 else "%.3f" % vals[0]


def main(results):
    runs = load(results)
    meta = {}
    mp = os.path.join(results, "meta.json")
    if os.path.isfile(mp):
        with open(mp) as fh:
            meta = json.load(fh)
    labels, cellinfo = [], {}
    for r in sorted(runs):
        for side in ("A", "B"):
            for lab, c in runs[r].get(side, {}).items():
                if lab not in cellinfo:
                    labels.append(lab)
                    cellinfo[lab] = c
    rows = []
    for lab in labels:
        c = cellinfo[lab]
        if c.get("skipped"):
            continue
        a_vals, b_vals, ratios, norm, rounds = [], [], [], [], []
        for r in sorted(runs):
            a_cells, b_cells = runs[r].get("A", {}), runs[r].get("B", {})
            a, b = a_cells.get(lab), b_cells.get(lab)
            av, bv = (measure(a) if a else None), (measure(b) if b else None)
            if av is not None:
                a_vals.append(av)
            if bv is not None:
                b_vals.append(bv)
            q = None
            if av is not None and bv is not None:
                ratios.append(bv / av)
                if not c["reference"]:
                    pa, pb = peer_of(a_cells, a), peer_of(b_cells, b)
                    pav, pbv = (measure(pa) if pa else None), (measure(pb) if pb else None)
                    if pav and pbv:
                        q = (bv / pbv) / (av / pav)
                        norm.append(q)
            rounds.append({"round": r, "a": av, "b": bv, "ratio": (bv / av) if av and bv else None, "ratio_vs_peer": q})
        ma = statistics.median(a_vals) if a_vals else None
        mb = statistics.median(b_vals) if b_vals else None
        rows.append({
            "cell": lab, "peer": c["reference"], "size": c["size"], "unit": "pps" if c["size"] else "gbps",
            "median_a": ma, "median_b": mb, "ratio": statistics.median(ratios) if ratios else None,
            "ratio_min": min(ratios) if ratios else None, "ratio_max": max(ratios) if ratios else None,
            "ratio_vs_peer_median": statistics.median(norm) if norm else None,
            "ratio_vs_peer_min": min(norm) if norm else None, "ratio_vs_peer_max": max(norm) if norm else None,
            "verdict": verdict(ratios) if c["reference"] else combined([ratios, norm]), "rounds": rounds,
        })

    head = []
    if meta:
        head.append("A = `%s` (%s), B = `%s` (%s); %d rounds (A,B / B,A alternating), %s s x %s per cell per run; "
                    "started %s, %s s in all; load average %s at the start, %s at the end; %s CPUs."
                    % (meta.get("base"), str(meta.get("base_rev"))[:10], meta.get("new"), str(meta.get("new_rev"))[:10],
                       meta.get("rounds", len(runs)), meta.get("duration_s"), meta.get("repeat"), meta.get("started_utc"),
                       meta.get("wall_s", "?"), meta.get("loadavg_start"), meta.get("loadavg_end", "?"), meta.get("host_cpus")))
    lines = head + ["",
                    "| cell | A median | B median | B/A (min–max over rounds) | B/A vs peer (min–max) | verdict |",
                    "|---|---|---|---|---|---|"]
    for row in rows:
        c = cellinfo[row["cell"]]
        ratio = "-" if row["ratio"] is None else "%.3f" % row["ratio"]
        if row["ratio_min"] is not None and len(ratios_of(row)) > 1:
            ratio += " (%.2f–%.2f)" % (row["ratio_min"], row["ratio_max"])
        vs = "peer" if row["peer"] else fmt_ratio([x["ratio_vs_peer"] for x in row["rounds"] if x["ratio_vs_peer"] is not None])
        lines.append("| %s | %s | %s | %s | %s | %s |" % (row["cell"], fmt_rate(c, row["median_a"]), fmt_rate(c, row["median_b"]),
                                                       ratio, vs, row["verdict"] + (" (peer: drift)" if row["peer"] else "")))
    lines += ["", "Verdicts (from the per-round ratios only; for a cell with a peer the raw and the peer-relative "
              "ratios must agree; a peer's own B/A is the machine's drift between runs):"]
    lines += ["- `%s`: %s" % v for v in VERDICTS]
    md = "\n".join(lines) + "\n"
    with open(os.path.join(results, "compare.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(results, "compare.json"), "w") as fh:
        json.dump({"meta": meta, "cells": rows}, fh, indent=1)
    sys.stdout.write(md)
    print("written: %s, %s" % (os.path.join(results, "compare.md"), os.path.join(results, "compare.json")))
    return 1 if any(r["verdict"] == "slower" and not r["peer"] for r in rows) else 0


def ratios_of(row):
    return [x["ratio"] for x in row["rounds"] if x["ratio"] is not None]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
