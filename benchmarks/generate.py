"""Deterministic generator of a realistic multi-node openGauss bundle of a given size.

Three hosts, each with rotated pg_log files (20 MB, as log_rotation_size), a DMS run log and
a cm_agent log; host 1 also has the cm_server run log and key_event log. Background lines are
the routine lines of the sample bundles, with advancing timestamps; the incidents are the
sample bundles' own files (OG-C01 first-round failure, OG-C03 stalled failover) copied into
the same host folders, so the benchmark bundle must yield their findings.

    python benchmarks/generate.py --size 1GB --out /tmp/bench-1g
"""

from __future__ import annotations

import argparse
import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTS = ["openGauss111", "openGauss135", "openGauss137"]

# Routine background, as the sample bundles and the reference show it (formats.md, cases.md).
PG_OM = ("{ts} 66ebeb64.{sess} [unknown] 2814{tid} dn_600{n} 0 dn_6001_6002_6003 00000  0 "
         "[{mod}] LOG:  {msg}\n")
# Mostly lines no rule or template cares about (as in a real week of pg_log, where the
# interesting lines are about 0.1%); a few named routine lines (redo progress) stay in.
PG_MSGS = [
    ("INCRE_CKPT", "full checkpoint ended, checkpoint redo position: 0/5A3B{x:04X}"),
    ("DBL_WRT", "[single flush] [first version] Reset DW file: file_head[dwn 147, start 0], "
                "writer pos is {x}"),
    ("BACKEND", "autovacuum: processing database \"postgres\""),
    ("SS_TXNSTATUS", "txn status cache hit ratio {x} percent"),
    ("BACKEND", "statement timeout checked, session {x} idle"),
    ("INSTR", "Statement flush thread: flushed {x} statements"),
    ("BACKEND", "connection authorized: user=omm database=postgres session {x}"),
]
RARE_PG = ("REDO", "[REDO_LOG_TRACE]ProcessPendingRecords:replayedLsn:{big}, blockcnt:268435455, "
                   "WorkerCount:4, readEndLSN:{big}")
DMS_LINE = "UTC+8 {ts}|DMS|{tid}|INFO>{msg} [{src}]\n"
DMS_MSGS = [
    ("[mes] mes_close_recv_pipe_nolock priority=6, inst_id={j}, channel_id=31", "mes_tcp.c:198"),
    ("[DRC] buf res recycle: {x} entries scanned", "drc_res_mgr.c:530"),
    ("[mes] mes_task_proc thread init callback: cb_thread_init done", "mes_queue.c:985"),
]
CM_LINE = "{ts} tid={tid} {thread} LOG: {msg}\n"
CM_MSGS = [
    ("StartAndStop", "res(dms_res) inst(600{n}) status is online, no need to check"),
    ("AGENT_WORKER", "send agent report to cm_server, report count {x}"),
    ("ProcessCmsMsg", "receive cm_agent report from node({n}), instance count {x}"),
    ("StorageDetect", "disk usage of /data is {x} per mille"),
]
# cm_server's arbitration thread prints the RHB heartbeat matrix every few seconds (T162-T164,
# cases OG-C10/OG-C21/OG-C27): the timeout, the base time, then one row per node, all in the
# same millisecond; a node's own cell reads 1970-01-01 08:00:00. cm_agent prints no matrix.
RHB_EVERY = timedelta(seconds=5)
RHB_TID = 1005045


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def _write(path: Path, budget: int, make, start: datetime, rng: random.Random) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = start
    written = 0
    with path.open("w", encoding="utf-8") as handle:
        batch: list[str] = []
        while written < budget:
            t += timedelta(milliseconds=rng.randint(1, 40))
            line = make(t, rng)
            batch.append(line)
            written += len(line)
            if len(batch) >= 4096:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))
    return written


def _pg(n: int):
    def make(t: datetime, rng: random.Random) -> str:
        mod, msg = RARE_PG if rng.random() < 0.001 else PG_MSGS[rng.randrange(len(PG_MSGS))]
        return PG_OM.format(ts=_stamp(t), sess=rng.randint(1000, 9999), tid=rng.randint(10**9, 10**10),
                            n=n, mod=mod, msg=msg.format(x=rng.randint(0, 65535),
                                                         big=rng.randint(10**10, 10**11)))
    return make


def _dms(n: int):
    def make(t: datetime, rng: random.Random) -> str:
        msg, src = DMS_MSGS[rng.randrange(len(DMS_MSGS))]
        return DMS_LINE.format(ts=_stamp(t), tid=3000000 + n, src=src,
                               msg=msg.format(n=n, i=n - 1, j=rng.randint(0, 2), x=rng.randint(0, 9999)))
    return make


def _rhb_matrix(t: datetime, rng: random.Random) -> str:
    """One print of the matrix: every link heard within the last 0-2 s (a healthy cluster)."""
    base = t.strftime("%Y-%m-%d %H:%M:%S")
    lines = [CM_LINE.format(ts=_stamp(t), tid=RHB_TID, thread="MaxClusterAb", msg=msg)
             for msg in ("Network timeout:6", f"Network base_time:{base}")]
    for row in range(len(HOSTS)):
        cells = ["1970-01-01 08:00:00" if col == row else
                 (t - timedelta(seconds=rng.randint(0, 2))).strftime("%Y-%m-%d %H:%M:%S")
                 for col in range(len(HOSTS))]
        lines.append(CM_LINE.format(ts=_stamp(t), tid=RHB_TID, thread="MaxClusterAb",
                                    msg="[RHB] hb infos: |" + "|".join(cells) + "|"))
    return "".join(lines)


def _cm(n: int, server: bool):
    next_matrix = [None]

    def make(t: datetime, rng: random.Random) -> str:
        thread, msg = CM_MSGS[rng.randrange(len(CM_MSGS))]
        line = CM_LINE.format(ts=_stamp(t), tid=1000000 + n, thread=thread,
                              msg=msg.format(n=n, x=rng.randint(0, 10**6)))
        if server and (next_matrix[0] is None or t >= next_matrix[0]):
            next_matrix[0] = t + RHB_EVERY
            line += _rhb_matrix(t, rng)
        return line
    return make


def generate(out: Path, size: int, seed: int = 42) -> None:
    """Write a bundle of about ``size`` bytes into ``out`` (replaced if it exists)."""
    if out.exists():
        shutil.rmtree(out)
    rng = random.Random(seed)
    start = datetime(2024, 9, 1, 0, 0, 0)
    per_host = size // len(HOSTS)
    rotate = 20 * 1024 * 1024
    for n, host in enumerate(HOSTS, 1):
        base = out / host / "gausslog"
        pg_budget, dms_budget, cm_budget = int(per_host * 0.75), int(per_host * 0.15), int(
            per_host * 0.10)
        t, k = start, 0
        while pg_budget > 0:
            chunk = min(rotate, pg_budget)
            name = f"postgresql-{t:%Y-%m-%d_%H%M%S}.log"
            _write(base / "pg_log" / f"dn_600{n}" / name, chunk, _pg(n), t, rng)
            pg_budget -= chunk
            t += timedelta(hours=2)
            k += 1
        _write(base / "pg_log" / "DMS" / "run" / "dms.rlog", dms_budget, _dms(n), start, rng)
        cm_file = "cm_server/cm_server-2024-09-01_000000-current.log" if n == 1 else \
            "cm_agent/cm_agent-2024-09-01_000000-current.log"
        _write(base / "cm" / cm_file, cm_budget, _cm(n, server=n == 1), start, rng)
    # the incidents: the sample bundles' own files, in the same host folders
    for sample in ("opengauss_reform_round1_fail", "opengauss_failover_backends_stuck"):
        src = ROOT / "samples" / sample / "bundle"
        for path in src.rglob("*"):
            if path.is_file():
                rel = path.relative_to(src)
                target = out / rel if rel.parts[0] in HOSTS else out / "incidents" / sample / rel
                if target.exists():
                    target = target.with_name(f"{sample[:12]}-{target.name}")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = text.upper().rstrip("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", default="1GB")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    generate(args.out, parse_size(args.size), args.seed)


if __name__ == "__main__":
    main()
