"""One wrk run: its command line, its output parsed, and the servers' CPU meanwhile.

With ``benchmarks/lua/thumbnails.lua`` wrk sends lists of pre-signed URLs
(cold misses, or a mix with hits) and prints a line per HTTP status, which
:func:`parse_wrk` reads along with wrk's own summary.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .stack import Stack

LUA_SCRIPT = Path(__file__).resolve().parent.parent / "lua" / "thumbnails.lua"
WRK_THREADS = 2


@dataclass
class Run:
    """One wrk run, parsed; CPU seconds of the servers during it."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: dict[str, int]
    non_2xx_3xx: int
    statuses: dict[int, int] = field(default_factory=dict)
    misses_sent: int | None = None
    exhausted: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    steal: float = 0.0  # share of the machine's CPU time the hypervisor gave to others
    output: str = ""

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())

    def cpu_us_per_request(self, what: str) -> float:
        return self.cpu.get(what, 0.0) / max(self.requests, 1) * 1e6


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> Run:
    def find(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, output, re.M)
        if match:
            return match.group(1)
        if default is None:
            raise ValueError(f"wrk output without {pattern!r}:\n{output}")
        return default

    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, socket.groups()), strict=True))
        if socket
        else {}
    )
    statuses = {
        int(s): int(n) for s, n in re.findall(r"^restthumbs-status (\d+) (\d+)$", output, re.M)
    }
    misses = find(r"^restthumbs-misses-sent (\d+)$", "")
    return Run(
        requests=int(find(r"^\s*(\d+) requests in")),
        seconds=to_ms(find(r"requests in ([\d.]+\w+),")) / 1000,
        rps=float(find(r"^Requests/sec:\s*([\d.]+)")),
        p50_ms=to_ms(find(r"^\s*50%\s+(\S+)")),
        p99_ms=to_ms(find(r"^\s*99%\s+(\S+)")),
        socket_errors=errors,
        non_2xx_3xx=int(find(r"Non-2xx or 3xx responses: (\d+)", "0")),
        statuses=statuses,
        misses_sent=int(misses) if misses else None,
        exhausted=int(find(r"^restthumbs-exhausted (\d+)$", "0")),
        output=output,
    )


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of ``pids`` (their own, not their reaped children's)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_times() -> list[int]:
    """The first line of /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal..."""
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def steal_share(before: Sequence[int], after: Sequence[int]) -> float:
    delta = [b - a for a, b in zip(before, after, strict=True)]
    return delta[7] / max(sum(delta), 1) if len(delta) > 7 else 0.0


class Wrk:
    def __init__(self, binary: str, stack: Stack, timeout: float) -> None:
        self.binary = binary
        self.stack = stack
        self.timeout = timeout

    def run(
        self,
        url: str,
        *,
        connections: int,
        duration: float,
        script_args: Sequence[str] | None = None,
    ) -> Run:
        argv = [
            self.binary,
            f"-t{WRK_THREADS}",
            f"-c{max(connections, WRK_THREADS)}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={self.timeout:g}s",
            "--latency",
        ]
        if script_args is not None:
            argv += ["-s", str(LUA_SCRIPT), url, "--", str(WRK_THREADS), *script_args]
        else:
            argv.append(url)
        groups = {"gunicorn": self.stack.gunicorn_pids(), "nginx": self.stack.nginx_pids()}
        before = {name: cpu_seconds(pids) for name, pids in groups.items()}
        machine = machine_times()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
        after = {name: cpu_seconds(pids) for name, pids in groups.items()}
        steal = steal_share(machine, machine_times())
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        run = parse_wrk(done.stdout)
        run.cpu = {name: after[name] - before[name] for name in groups}
        run.steal = steal
        return run
