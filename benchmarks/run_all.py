"""Run every benchmark script in this folder, one after the other, and collect the output.

    python benchmarks/run_all.py            # full sizes (about half an hour on 2 cores)
    python benchmarks/run_all.py --quick    # small sizes (a few minutes)
    python benchmarks/run_all.py --only tick,sqlite --out results.md

Each `bench_*.py` runs in its own process with this interpreter; `--quick` is passed to the
scripts that accept it. The combined Markdown output goes to stdout and, with `--out`, to a
file. The exit status is non-zero only when a script crashed: nothing here judges timings.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts(only: Sequence[str]) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [p for p in found if any(p.stem == f"bench_{name}" or p.stem == name
                                         for name in only)]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a fast check")
    parser.add_argument("--only", default="", help="comma-separated names: actions,sqlite,...")
    parser.add_argument("--out", help="also write the combined output to this file")
    args = parser.parse_args(argv)
    chosen = scripts([n.strip() for n in args.only.split(",") if n.strip()])
    if not chosen:
        parser.error(f"no benchmark matches {args.only!r}")

    header = (f"# escalate benchmarks, {datetime.now():%Y-%m-%d %H:%M}"
              f"{' (quick)' if args.quick else ''}\n")
    parts = [header]
    print(header, flush=True)
    summary = []
    failed = 0
    for script in chosen:
        command = [sys.executable, str(script.relative_to(HERE.parent))]
        if args.quick and "--quick" in script.read_text(encoding="utf-8"):
            command.append("--quick")
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=HERE.parent)
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        code = proc.wait()
        seconds = time.perf_counter() - started
        parts.append("".join(lines))
        failed += code != 0
        summary.append(f"| {script.name} | {'ok' if code == 0 else f'exit {code}'} | "
                       f"{seconds:.0f} s |")
        print(flush=True)
    table = "\n".join(["| script | result | wall time |", "| --- | --- | --- |", *summary])
    print(table)
    parts.append(table + "\n")
    if args.out:
        Path(args.out).write_text("\n".join(parts), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
