"""Batch benchmark: N generated bundles, local engine vs a Dask LocalCluster on this machine,
and an estimate of throughput on more workers from the measured per-task costs.

    python benchmarks/batch.py --bundles 50 --size 10MB
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bundles", type=int, default=50)
    ap.add_argument("--size", default="10MB")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from benchmarks.generate import generate, parse_size
    from reformdiag.batch import run_batch, summarise

    root = Path(tempfile.gettempdir()) / f"reformdiag-batch-{args.bundles}x{args.size}"
    bundles = [root / f"cluster{i:03d}" for i in range(args.bundles)]
    for i, b in enumerate(bundles):
        if not b.exists():
            generate(b, parse_size(args.size), seed=i)
    size = sum(p.stat().st_size for b in bundles for p in b.rglob("*") if p.is_file())
    rows = []
    for engine in ("local", "dask"):
        start = time.perf_counter()
        results = run_batch(bundles, engine=engine, jobs=args.workers)
        wall = time.perf_counter() - start
        tasks = [r["seconds"] for r in results]
        summary = summarise(results)
        rows.append({"engine": engine, "wall_s": wall, "bundles_per_s": len(bundles) / wall,
                     "mb_per_s": size / 1e6 / wall, "task_mean_s": statistics.mean(tasks),
                     "task_p95_s": sorted(tasks)[int(0.95 * (len(tasks) - 1))],
                     "failed": len(summary["failed"]), "cases": summary["cases"]})
    task = statistics.mean(r["task_mean_s"] for r in rows)
    print(f"{args.bundles} bundles x {args.size} ({size / 1e6:.0f} MB), {args.workers} workers")
    print("| engine | wall s | bundles/s | MB/s | mean task s | p95 task s | failed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['engine']} | {r['wall_s']:.1f} | {r['bundles_per_s']:.2f} | "
              f"{r['mb_per_s']:.0f} | {r['task_mean_s']:.2f} | {r['task_p95_s']:.2f} | "
              f"{r['failed']} |")
    dask = rows[1]
    overhead = dask["wall_s"] - len(bundles) * task / args.workers
    print(f"\nEstimate from the measured mean task ({task:.2f} s per {args.size} bundle, "
          f"{size / len(bundles) / 1e6 / task:.0f} MB/s per worker) and Dask's fixed cost "
          f"here ({max(overhead, 0):.1f} s per batch):")
    for n in (2, 8, 32, 128):
        per_s = n / task
        print(f"  {n:>3} workers: ~{per_s:.1f} bundles/s, ~{per_s * 3600:,.0f} bundles/hour, "
              f"~{per_s * size / len(bundles) / 1e6:.0f} MB/s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "task_mean_s": task}, indent=2))


if __name__ == "__main__":
    main()
