"""Which cells solve which task with its preset? `python -m benchmarks.cells` runs
`python -m benchmarks.tasks --cell NAME` for each cell (one process each, one BLAS thread) and
prints one table: a row per task, a column per cell, "solved/seeds" in each cell, judged as
benchmarks.tasks judges (the preset's full schedule, the last epoch against
`data.presets.THRESHOLDS`).

    python -m benchmarks.cells --cells lstm,gru,rnn --seeds 3 --json cells.json
    python -m benchmarks.cells --from /tmp/bench            # tables from earlier --json files
    python -m benchmarks.cells --from /tmp/bench --presets  # data.presets.PRESET_CELLS' entries

The README's table "Which cells solve which task with the preset" and
`data.presets.PRESET_CELLS` (what the sidebar says per task and cell) come from such a run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.tasks import TASKS

STORY = ("rnn", "gru", "lstm", "peephole", "cifg", "nfg", "nig", "nog", "niaf", "noaf")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cells",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--cells", default=",".join(STORY), help="comma-separated cells")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--limit", type=float, default=120.0, help="wall seconds per run")
    parser.add_argument("--from", dest="source", metavar="DIR",
                        help="read the <cell>.json files of benchmarks.tasks --json")  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="write the combined summaries here")
    parser.add_argument("--presets", action="store_true",
                        help="print the data.presets.PRESET_CELLS entries")  # fmt: skip
    args = parser.parse_args(argv)
    args.cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    return args


def run_cell(cell: str, seeds: int, limit: float, folder: Path) -> Path:
    out = folder / f"{cell}.json"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "benchmarks.tasks", "--cell", cell, "--seeds", str(seeds),
           "--limit", str(limit), "--json", str(out)]  # fmt: skip
    subprocess.run(cmd, env=env, check=False)
    return out


def load(folder: Path, cells: list[str]) -> dict[str, dict]:
    """{cell: benchmarks.tasks' JSON} for every cell whose file is there."""
    found = {}
    for cell in cells:
        path = folder / f"{cell}.json"
        if path.is_file():
            found[cell] = json.loads(path.read_text())
    return found


def table(results: dict[str, dict]) -> str:
    cells = [c for c in STORY if c in results] + [c for c in results if c not in STORY]
    lines = ["| task | " + " | ".join(cells) + " |", "|---|" + "--:|" * len(cells)]
    for task in TASKS:
        row = []
        for cell in cells:
            summary = next((s for s in results[cell]["summary"] if s["task"] == task), None)
            row.append("-" if summary is None else f"{summary['solved']}/{summary['seeds']}")
        lines.append(f"| {task} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def preset_entries(results: dict[str, dict]) -> str:
    lines = []
    for task in TASKS:
        found = {}
        for cell, result in results.items():
            summary = next((s for s in result["summary"] if s["task"] == task), None)
            if summary is not None:
                found[cell] = (summary["solved"], summary["seeds"])
        lines.append(f'    "{task}": {found},')
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.source:
        folder = Path(args.source)
    else:
        folder = Path(tempfile.mkdtemp(prefix="cells-"))
        for cell in args.cells:
            run_cell(cell, args.seeds, args.limit, folder)
    results = load(folder, args.cells)
    if not results:
        print(f"no results in {folder}", file=sys.stderr)
        return 2
    loads = {cell: r["environment"].get("load_average_at_start") for cell, r in results.items()}
    print(table(results))
    print("\nload average at each cell's start:", loads)
    if args.presets:
        print("\n" + preset_entries(results))
    if args.json:
        combined = {cell: {"environment": r["environment"], "summary": r["summary"]}
                    for cell, r in results.items()}  # fmt: skip
        Path(args.json).write_text(json.dumps(combined, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
