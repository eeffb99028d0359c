"""CPU seconds of process trees from /proc: what the API benches divide by the requests answered.

Wall-clock latency on a shared host moves with whatever else runs; the CPU a request costs does not."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

TICK = os.sysconf("SC_CLK_TCK")


def children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(p.name))
    return kids


def tree(root: int) -> list[int]:
    kids = children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICK


def postmaster(url: sa.URL) -> int | None:
    with sa.create_engine(url).connect() as c:
        data_dir = c.exec_driver_sql("SHOW data_directory").scalar()
    try:
        return int(Path(str(data_dir), "postmaster.pid").read_text().split()[0])
    except OSError:
        return None


class Meter:
    """CPU seconds spent by a server's process tree and by PostgreSQL's backends between `start` and `stop`."""

    def __init__(self, server_pid: int, postmaster_pid: int | None) -> None:
        self.server_pid = server_pid
        self.postmaster_pid = postmaster_pid

    def start(self) -> None:
        self.pg = tree(self.postmaster_pid) if self.postmaster_pid else []
        self.s0, self.g0 = cpu_seconds(tree(self.server_pid)), cpu_seconds(self.pg)

    def stop(self) -> tuple[float, float]:
        """(server, PostgreSQL) CPU seconds since start; backends opened meanwhile count from zero (one that
        closed meanwhile is lost)."""
        now_pg = tree(self.postmaster_pid) if self.postmaster_pid else []
        s1 = cpu_seconds(tree(self.server_pid))
        g1 = cpu_seconds(sorted(set(self.pg) | set(now_pg)))
        return s1 - self.s0, g1 - self.g0
