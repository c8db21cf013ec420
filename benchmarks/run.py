"""Time reformdiag end to end against grep, lnav and pgBadger on the same generated bundle.

    python benchmarks/run.py --size 1GB            # generates /tmp/reformdiag-bench-1GB once
    python benchmarks/run.py --bundle DIR --jobs 1 2

For each tool: wall time (process start to exit, median of --repeat runs), MB/s, lines/s,
ratio to grep, and the fastest run (on a shared VM noise only ever adds time); then, in one
more run, peak RSS of the largest process and peak memory of all
its processes together (the sum of their proportional set sizes), sampled every 10 ms.

grep searches the same anchor phrases stage one uses (every format's template anchors and
keep phrases, plus the rules' anchors), with -F -c over the same files. lnav runs headless
with the openGauss pg_log format kept in benchmarks/lnav and counts the parsed lines (pg_log
files only: it has no DMS/CM format); reformdiag is timed on those same files too, so that
"x lnav" compares like with like. pgBadger runs with the OM log_line_prefix on the pg_log
files (it finds nothing in them, as its users report, but it reads them). Tools that are not
installed are skipped with a note. Prints a markdown table; --json writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _pss(pid: int) -> int:
    """Proportional set size of one process in bytes: its private pages plus its share of the
    pages it shares (forked workers share the parent's pages copy-on-write; summing their RSS
    would count those once per worker)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def _tree_memory(pid: int) -> tuple[int, int]:
    """(sum of PSS, largest RSS) over ``pid`` and its descendants now, in bytes (Linux)."""
    total = largest = 0
    todo = [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        p = todo.pop()
        try:
            largest = max(largest, int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page)
            total += _pss(p)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total, largest


def _measure_once(cmd: list[str], env: dict[str, str] | None,
                  stdout: int | None, sample_memory: bool = False) -> dict[str, float]:
    peak = [0, 0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    stop = threading.Event()

    def sample() -> None:
        # Sampled, not wait4's ru_maxrss: a child's maxrss starts from the Python process it
        # was forked from (45 MB for grep, whose own RSS is 3 MB), and wait4 only knows the
        # largest process where forked workers share pages.
        while not stop.wait(0.01):
            pss, rss = _tree_memory(proc.pid)
            peak[0], peak[1] = max(peak[0], pss), max(peak[1], rss)

    sampler = threading.Thread(target=sample, daemon=True) if sample_memory else None
    if sampler is not None:
        sampler.start()
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stop.set()
    if sampler is not None:
        sampler.join()
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    return {"seconds": wall, "peak_rss_mb": peak[1] / 2**20, "tree_rss_mb": peak[0] / 2**20,
            "exit": code, "stderr": err[-500:]}


def _measure(cmd: list[str], env: dict[str, str] | None = None,
             stdout: int | None = subprocess.DEVNULL, repeat: int = 1) -> dict[str, float]:
    """Wall time: the median of ``repeat`` runs with nothing watching (reading smaps_rollup
    every 10 ms slowed reformdiag by 10-15%, measured); memory: one more run, sampled: peak
    RSS of the largest process and PSS of the whole process tree, in MB."""
    runs = sorted(_measure_once(cmd, env, stdout)["seconds"] for _ in range(repeat))
    memory = _measure_once(cmd, env, stdout, sample_memory=True)
    return {**memory, "seconds": runs[len(runs) // 2], "runs": [round(r, 3) for r in runs]}


def _anchor_file() -> Path:
    from reformdiag.diagnose.anchors import rule_anchors
    from reformdiag.diagnose.catalog import rule_set
    from reformdiag.parse.registry import default_registry

    phrases: set[str] = set()
    registry = default_registry()
    for fmt in registry:
        phrases.update(fmt.spec.anchor_phrases())
    for more in rule_anchors(rule_set()).values():
        phrases.update(more)
    path = Path(tempfile.gettempdir()) / "reformdiag-bench-anchors.txt"
    path.write_text("\n".join(sorted(phrases)) + "\n", encoding="utf-8")
    return path


def _compile_package() -> None:
    """Byte-compile reformdiag first, as an installed wheel is: a checkout run with
    PYTHONDONTWRITEBYTECODE recompiles every module at each start (0.1-0.15 s measured)."""
    import reformdiag

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    str(Path(reformdiag.__file__).parent)], env=env, check=False)


def _files(bundle: Path, pattern: str = "*") -> list[str]:
    return sorted(str(p) for p in bundle.rglob(pattern) if p.is_file())


def _lines(files: list[str]) -> int:
    total = 0
    for f in files:
        with open(f, "rb") as handle:
            while block := handle.read(8 << 20):
                total += block.count(b"\n")
    return total


def run(bundle: Path, jobs: list[int], skip: set[str], repeat: int = 3) -> dict[str, object]:
    files = _files(bundle)
    pg = [f for f in files if "/pg_log/dn_" in f]
    size = sum(os.path.getsize(f) for f in files)
    pg_size = sum(os.path.getsize(f) for f in pg)
    lines, pg_lines = _lines(files), _lines(pg)
    for f in files:  # warm page cache, as every tool below gets the same warm cache
        with open(f, "rb") as handle:
            while handle.read(8 << 20):
                pass
    _compile_package()
    rows: list[dict[str, object]] = []
    anchors = _anchor_file()
    grep = _measure(["grep", "-F", "-c", "-f", str(anchors), *files], repeat=repeat)
    rows.append({"tool": "grep -F -c (same anchors)", "bytes": size, "lines": lines, **grep})
    exe = shutil.which("reformdiag") or str(Path(sys.executable).with_name("reformdiag"))
    for j in jobs:
        rows.append(_reformdiag(exe, [str(bundle)], j, f"reformdiag analyze --jobs {j}",
                                size, lines, repeat))
    if "lnav" not in skip and shutil.which("lnav"):
        home = tempfile.mkdtemp(prefix="lnav-home-")
        m = _measure(["lnav", "-I", str(HERE / "lnav"), "-n", "-c",
                      ";SELECT count(*) AS n FROM opengauss_pg_log", *pg],
                     env={**os.environ, "HOME": home}, repeat=repeat)
        rows.append({"tool": "lnav 0.11 (pg_log only)", "bytes": pg_size, "lines": pg_lines,
                     "lnav": True, **m})
        # the same files as lnav: its ratio compares like with like (the bundle's DMS and CM
        # logs cost reformdiag more per byte than pg_log, and lnav does not read them)
        rows.append(_reformdiag(exe, pg, max(jobs), f"reformdiag analyze --jobs {max(jobs)} "
                                "(lnav's files: pg_log only)", pg_size, pg_lines, repeat))
    if "pgbadger" not in skip and shutil.which("pgbadger"):
        out = Path(tempfile.gettempdir()) / "reformdiag-bench-pgbadger.txt"
        m = _measure(["pgbadger", "-q", "-f", "stderr", "-p", "%m %c %d %p %a %x %n %e ",
                      "-x", "text", "-o", str(out), "-j", str(max(jobs)), *pg])
        rows.append({"tool": f"pgBadger -j {max(jobs)} (pg_log only)", "bytes": pg_size,
                     "lines": pg_lines, **m})
    grep_rate = size / grep["seconds"]
    for row in rows:
        secs = float(row["seconds"])  # type: ignore[arg-type]
        row["mb_per_s"] = row["bytes"] / 1e6 / secs  # type: ignore[operator]
        row["lines_per_s"] = row["lines"] / secs  # type: ignore[operator]
        row["ratio_to_grep"] = (row["bytes"] / secs) / grep_rate  # type: ignore[operator]
    lnav = next((r for r in rows if r.get("lnav")), None)
    for row in rows:
        if lnav is not None and row["tool"].startswith("reformdiag"):  # type: ignore[union-attr]
            row["ratio_to_lnav"] = row["mb_per_s"] / lnav["mb_per_s"]  # type: ignore[operator]
    return {"bundle": str(bundle), "bytes": size, "lines": lines, "files": len(files),
            "machine": machine(), "rows": rows}


def _reformdiag(exe: str, paths: list[str], jobs: int, label: str, size: int, lines: int,
                repeat: int) -> dict[str, object]:
    out = Path(tempfile.gettempdir()) / f"reformdiag-bench-{jobs}.json"
    out.unlink(missing_ok=True)
    m = _measure([exe, "analyze", *paths, "--format", "json", "-o", str(out),
                  "--jobs", str(jobs)], repeat=repeat)
    findings = []
    if out.exists() and out.stat().st_size:
        doc = json.loads(out.read_text())
        findings = [f["rule"] for f in doc["findings"]]
    return {"tool": label, "bytes": size, "lines": lines, "findings": findings, **m}


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from reformdiag.ingest import lines, phrases
    from reformdiag.parse.registry import lark_accelerated

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "kernel": platform.release(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            # what `reformdiag --version` reports: a slow result may be a missing accelerator
            "line_pass": "compiled" if lines.compiled_available() else "numpy",
            "phrase_search": "hyperscan" if phrases.hyperscan is not None else "aho-corasick",
            "stage_two": "lark-cython" if lark_accelerated() else "lark"}


def table(result: dict[str, object]) -> str:
    out = [f"Bundle: {result['bytes'] / 1e6:.0f} MB, {result['lines']:,} lines, "
           f"{result['files']} files. Machine: {result['machine']}", "",
           "| tool | MB/s | lines/s | x grep | x lnav | wall s | best s (MB/s) | "
           "RSS MB (largest process) | PSS MB (all processes) | note |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in result["rows"]:  # type: ignore[union-attr]
        note = f"findings: {', '.join(r['findings'])}" if "findings" in r else ""
        if r.get("exit") not in (0, 1, None):
            note += f" exit {r['exit']}"
        # the median is the result; the fastest run shows what the machine's noise hides
        best = min(r.get("runs") or [r["seconds"]])
        x_lnav = f"{r['ratio_to_lnav']:.1f}" if "ratio_to_lnav" in r else ""
        out.append(f"| {r['tool']} | {r['mb_per_s']:.0f} | {r['lines_per_s']:,.0f} | "
                   f"{r['ratio_to_grep']:.2f} | {x_lnav} | {r['seconds']:.2f} | "
                   f"{best:.2f} ({r['bytes'] / 1e6 / best:.0f}) | {r['peak_rss_mb']:.0f} | "
                   f"{r['tree_rss_mb']:.0f} | {note} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--size", default="1GB")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--skip", nargs="*", default=[])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; the median is kept")
    args = ap.parse_args()
    bundle = args.bundle
    if bundle is None:
        from benchmarks.generate import generate, parse_size

        bundle = Path(tempfile.gettempdir()) / f"reformdiag-bench-{args.size}"
        if not bundle.exists():
            generate(bundle, parse_size(args.size))
    result = run(bundle, args.jobs, set(args.skip), args.repeat)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
