"""Many bundles at once: one diagnosis per bundle and a summary across them.

A support lead's view: which bundles hit which rules and documented cases, with counts over
time ("how many clusters hit OG-C03 this week"). Each bundle is one task; on the local engine
tasks run on worker processes, on Dask they run on the cluster's workers. A bundle that fails
(unreadable, broken, an internal error) is reported with its error and never stops the batch.
"""

from __future__ import annotations

import glob
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from reformdiag.model import SEVERITY_RANK


def expand(targets: list[str]) -> list[Path]:
    """Each target is one bundle (a folder, an archive or a file); a quoted glob such as
    ``'/collected/*'`` expands to one bundle per match."""
    bundles: list[Path] = []
    for target in targets:
        if any(c in target for c in "*?["):
            bundles.extend(Path(m) for m in sorted(glob.glob(target)))
        else:
            bundles.append(Path(target))
    return bundles


def analyse_bundle(path: str, rules_dirs: list[str] | None = None) -> dict[str, Any]:
    """One bundle -> a small, picklable summary (never raises)."""
    from reformdiag.pipeline import Options, run

    started = time.perf_counter()
    out: dict[str, Any] = {"bundle": path, "ok": False, "error": None, "findings": [],
                           "files": 0, "analysed": 0, "lines": 0, "max_severity": None}
    try:
        if not Path(path).exists():
            raise FileNotFoundError(f"no such file or directory: {path}")
        analysis, diagnosis = run([Path(path)], Options(jobs=1),
                                  [Path(d) for d in rules_dirs or []])
        out["files"] = len(analysis.inputs)
        out["analysed"] = len(analysis.analysed)
        out["lines"] = sum(r.lines for r in analysis.analysed)
        out["not_analysed"] = [f"{r.path}: {r.reason}" for r in analysis.not_analysed][:20]
        start, end = analysis.span()
        out["span"] = [start.isoformat() if start else None, end.isoformat() if end else None]
        for top in diagnosis.findings:
            for f in [top, *top.symptoms]:
                out["findings"].append({
                    "rule": f.rule, "title": f.title, "severity": f.severity,
                    "references": f.references, "nodes": f.nodes,
                    "start": f.start.isoformat() if f.start else None,
                    "symptom_of": top.rule if f is not top else None})
        severities = [f["severity"] for f in out["findings"]]
        out["max_severity"] = max(severities, key=SEVERITY_RANK.__getitem__) if severities else None
        out["ok"] = out["analysed"] > 0
        if not out["ok"]:
            out["error"] = "nothing in this bundle could be analysed"
    except Exception as exc:  # a broken bundle must not stop the batch
        out["error"] = f"{exc.__class__.__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=5)
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def run_batch(bundles: list[Path], engine: str = "local", jobs: int = 1,
              scheduler: str | None = None, rules_dirs: list[str] | None = None
              ) -> list[dict[str, Any]]:
    paths = [str(b) for b in bundles]
    if engine == "dask":
        from reformdiag.parallel import dask_client

        with dask_client(scheduler, jobs) as client:
            futures = client.map(analyse_bundle, paths, rules_dirs=rules_dirs, pure=False)
            return list(client.gather(futures))
    if jobs <= 1 or len(paths) <= 1:
        return [analyse_bundle(p, rules_dirs) for p in paths]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(analyse_bundle, paths, [rules_dirs] * len(paths)))


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Which bundles hit which rules and cases, and case counts per day."""
    rules: dict[str, dict[str, Any]] = {}
    cases: Counter[str] = Counter()
    per_day: dict[str, Counter[str]] = {}
    for r in results:
        seen_cases: set[str] = set()
        for f in r["findings"]:
            entry = rules.setdefault(f["rule"], {"rule": f["rule"], "title": f["title"],
                                                 "severity": f["severity"],
                                                 "references": f["references"],
                                                 "bundles": []})
            if r["bundle"] not in entry["bundles"]:
                entry["bundles"].append(r["bundle"])
            if f.get("symptom_of"):
                continue  # a symptom's cases are the cause's, counted once
            day = (f["start"] or "unknown")[:10]
            for ref in f["references"]:
                if ref not in seen_cases:
                    seen_cases.add(ref)
                    cases[ref] += 1
                    per_day.setdefault(day, Counter())[ref] += 1
    return {
        "bundles": len(results),
        "failed": [{"bundle": r["bundle"], "error": r["error"]} for r in results if not r["ok"]],
        "with_findings": sum(1 for r in results if r["findings"]),
        "rules": sorted(rules.values(), key=lambda e: (-len(e["bundles"]), e["rule"])),
        "cases": dict(cases.most_common()),
        "cases_per_day": {d: dict(c) for d, c in sorted(per_day.items())},
        "results": results,
    }


def render_csv(summary: dict[str, Any]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["bundle", "ok", "error", "rule", "severity", "references", "nodes", "start",
                "symptom_of"])
    for r in summary["results"]:
        if not r["findings"]:
            w.writerow([r["bundle"], r["ok"], r["error"] or "", "", "", "", "", "", ""])
        for f in r["findings"]:
            w.writerow([r["bundle"], r["ok"], r["error"] or "", f["rule"], f["severity"],
                        " ".join(f["references"]), " ".join(f["nodes"]), f["start"] or "",
                        f.get("symptom_of") or ""])
    return buf.getvalue()


def render_html(summary: dict[str, Any]) -> str:
    from html import escape

    rows = []
    for r in summary["results"]:
        found = ", ".join(f"{f['rule']} ({f['severity']}; {' '.join(f['references'])})"
                          for f in r["findings"]) or ("-" if r["ok"] else "")
        status = "ok" if r["ok"] else f"FAILED: {r['error']}"
        rows.append(f"<tr><td>{escape(r['bundle'])}</td><td>{escape(status)}</td>"
                    f"<td>{escape(r['max_severity'] or '')}</td><td>{escape(found)}</td></tr>")
    rule_rows = "".join(
        f"<tr><td>{escape(e['rule'])}</td><td>{escape(e['title'])}</td>"
        f"<td>{escape(e['severity'])}</td><td>{escape(', '.join(e['references']))}</td>"
        f"<td>{len(e['bundles'])}</td></tr>" for e in summary["rules"])
    day_rows = "".join(
        f"<tr><td>{escape(d)}</td><td>{escape(', '.join(f'{k}: {v}' for k, v in c.items()))}"
        f"</td></tr>" for d, c in summary["cases_per_day"].items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>reformdiag batch summary</title><style>
body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}} th{{background:#f3f3f3}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}
</style></head><body><h1>reformdiag batch summary</h1>
<p>{summary['bundles']} bundle(s), {summary['with_findings']} with findings,
{len(summary['failed'])} failed.</p>
<h2>Rules hit</h2><table><tr><th>rule</th><th>title</th><th>severity</th><th>cases</th>
<th>bundles</th></tr>{rule_rows}</table>
<h2>Documented cases per day</h2><table><tr><th>day (UTC)</th><th>cases (bundles)</th></tr>
{day_rows}</table>
<h2>Bundles</h2><table><tr><th>bundle</th><th>status</th><th>max severity</th><th>findings</th>
</tr>{''.join(rows)}</table>
</body></html>
"""
