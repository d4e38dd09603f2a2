#!/usr/bin/env python3
"""Plots a `make bench` CSV (scripts/bench.sh) into one SVG or PNG.

Usage: bench-plot.py RESULTS.csv OUT.svg

Panels: the added cost per call of each method on each target (log scale);
install and revert time against M; install time as patches accumulate; and
the per-call cost against the number of other patches installed.
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    rows = list(csv.DictReader(open(src)))
    fig, ax = plt.subplots(2, 2, figsize=(13, 9))

    added = [r for r in rows if r["section"] == "added" and r["method"] != "none"]
    targets = list(dict.fromkeys(r["target"] for r in added))
    methods = list(dict.fromkeys(r["method"] for r in added))
    width = 0.8 / max(len(methods), 1)
    a = ax[0][0]
    for i, m in enumerate(methods):
        vals = {r["target"]: max(float(r["value"]), 0.01) for r in added if r["method"] == m}
        xs = [t + i * width for t in range(len(targets))]
        a.bar(xs, [vals.get(t, 0) for t in targets], width, label=m)
    a.set_xticks([t + 0.4 - width / 2 for t in range(len(targets))], targets)
    a.set_yscale("log")
    a.set_ylabel("added ns per call (TCG)")
    a.set_title("per-call cost over the bare call")
    a.legend(fontsize=8)

    a = ax[0][1]
    for op, marker in (("install", "o"), ("revert", "s")):
        for detail in ("total", "writing"):
            pts = sorted(
                (int(r["x"]), float(r["value"]) / 1e6, r["target"])
                for r in rows
                if r["section"] == op and r["detail"] == detail
            )
            if pts:
                a.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, linestyle="none",
                       fillstyle="full" if detail == "total" else "none", label=f"{op} {detail}")
    sm = [float(r["value"]) / 1e6 for r in rows if r["section"] == "stop_machine" and r["detail"] == "median"]
    if sm:
        a.axhline(sm[0], color="red", linewidth=1, label="one empty stop_machine(), median")
    a.set_yscale("log")
    a.set_xlabel("M (instructions in the region)")
    a.set_ylabel("ms")
    a.set_title("install and revert against M")
    a.legend(fontsize=8)

    a = ax[1][0]
    for detail in ("total", "writing"):
        pts = sorted((int(r["x"]), float(r["value"]) / 1e6) for r in rows if r["section"] == "install-many" and r["detail"] == detail)
        if pts:
            a.plot([p[0] for p in pts], [p[1] for p in pts], ".", label=f"install {detail}")
    a.set_xlabel("patches installed")
    a.set_ylabel("ms")
    a.set_title("install time as patches accumulate")
    a.legend(fontsize=8)

    a = ax[1][1]
    series = defaultdict(list)
    for r in rows:
        if r["section"] == "scaling":
            series[(r["method"], r["detail"])].append((int(r["x"]), float(r["value"])))
    for (m, detail), pts in series.items():
        pts.sort()
        a.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=f"mpb_tiny, {m}, {detail or 'median'}")
    a.set_ylim(bottom=0)
    a.set_xlabel("other patches installed")
    a.set_ylabel("ns per call")
    a.set_title("per-call cost against the number of patches")
    a.legend(fontsize=8)

    fig.suptitle("markpatch bench (one boot, " + src.split("/")[-1] + ")")
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
