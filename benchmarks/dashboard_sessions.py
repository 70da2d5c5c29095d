"""Memory of a real dashboard server under real browser sessions (docs/RELIABILITY.md).

    python -m benchmarks.dashboard_sessions train  [--sessions 4] [--query dataset=adding]
    python -m benchmarks.dashboard_sessions visits [--visits 6] [--query ...] [--distinct]

Starts `streamlit run dashboard/app.py` of `--repo` (default: this one) with an empty run store,
drives Debian's Chromium through Playwright, and samples the resident memory of the server and
every process below it (the fork server and its training processes) every 0.25 s.

- train: `--sessions` browser tabs open the link and press Train at once; reports the peak of
  server + children, how many training processes ran at once, and when each session's run ended.
- visits: one tab after another opens the link (a large dataset), waits for the Data tab, and
  closes; reports the server's memory after each visit (`--distinct`: each visit another seed).
- largest: no browser; the largest batch of the link's settings whose estimate fits a job's
  budget, trained for an epoch as the dashboard trains it, its measured peak against the
  estimate (set LSTM_MEMORY_BUDGET to try a smaller machine).

Linux only (reads /proc). Needs /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            found.setdefault(ppid, []).append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Sampler(threading.Thread):
    """Resident memory of `pid` and its descendants, and the number of training processes
    (children of the multiprocessing fork server), every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self.running = pid, every, [], True
        self.start_time = time.monotonic()

    def run(self):
        while self.running:
            tree = _children()
            below, todo = [], list(tree.get(self.pid, []))
            while todo:
                pid = todo.pop()
                below.append(pid)
                todo += tree.get(pid, [])
            forkservers = [p for p in below if "forkserver" in _cmdline(p)]
            jobs = [p for f in forkservers for p in tree.get(f, [])]
            self.samples.append((time.monotonic() - self.start_time, _rss(self.pid),
                                 sum(_rss(p) for p in below), len(jobs)))  # fmt: skip
            time.sleep(self.every)

    def stop(self) -> list:
        self.running = False
        self.join()
        return self.samples


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(repo: Path, runs_dir: Path, env: dict | None = None):
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(repo / "dashboard" / "app.py"),
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = open(runs_dir.parent / "streamlit.log", "w")  # noqa: SIM115
    full_env = {**os.environ, "LSTM_RUNS_DIR": str(runs_dir), **(env or {})}
    proc = subprocess.Popen(cmd, cwd=repo, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError("the server did not start")


def _browser(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def _idle(page, timeout: float = 240_000) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !/Running/i.test(document.querySelector('[data-testid=\"stStatusWidget\"]')"
        ".innerText)",
        timeout=timeout,
    )


def _statuses(runs: Path) -> dict[str, str]:
    """Run id -> status as run.json says (any version of the store writes these two fields)."""
    import json

    found = {}
    for path in runs.glob("*/run.json"):
        try:
            found[path.parent.name] = json.loads(path.read_text()).get("status", "")
        except (OSError, ValueError):
            continue
    return found


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def train(args) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        proc, url = start_server(args.repo, runs)
        sampler = Sampler(proc.pid)
        sampler.start()
        ended = {}
        try:
            with sync_playwright() as p:
                browser = _browser(p)
                pages = []
                for _ in range(args.sessions):
                    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                    page.goto(f"{url}/?{args.query}")
                    page.locator(".st-key-train button").first.wait_for(timeout=120_000)
                    _idle(page)
                    pages.append(page)
                clicked = time.monotonic()
                for page in pages:
                    page.locator(".st-key-train button").first.click()
                time.sleep(3)
                if args.shot:
                    pages[-1].screenshot(path=args.shot)
                deadline = clicked + args.seconds
                while len(ended) < len(pages) and time.monotonic() < deadline:
                    for run_id, status in _statuses(runs).items():
                        if status != "running" and run_id not in ended:
                            ended[run_id] = time.monotonic() - clicked
                    time.sleep(0.5)
                browser.close()
        finally:
            samples = sampler.stop()
            proc.terminate()
            proc.wait(30)
    peak = max(samples, key=lambda s: s[1] + s[2])
    print(f"{args.sessions} sessions pressed Train ({args.query}); {args.repo}")
    print(f"  peak server + children: {mb(peak[1] + peak[2])} at {peak[0]:.0f} s "
          f"(server {mb(peak[1])}, children {mb(peak[2])})")  # fmt: skip
    print(f"  server alone, peak: {mb(max(s[1] for s in samples))}")
    print(f"  training processes at once, at most: {max(s[3] for s in samples)}")
    print("  runs ended after (s from the clicks): "
          + ", ".join(f"{t:.0f}" for t in sorted(ended.values())))  # fmt: skip
    step = max(1, len(samples) // 30)
    print("  t(s)  server  children  total  training processes")
    for t, server, below, jobs in samples[::step]:
        print(f"  {t:5.0f} {mb(server):>9} {mb(below):>9} {mb(server + below):>9}  {jobs}")


def visits(args) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        proc, url = start_server(args.repo, runs)
        after = []
        try:
            with sync_playwright() as p:
                browser = _browser(p)
                before = _rss(proc.pid)
                for k in range(args.visits):
                    query = args.query + (f"&sine.seed={k}" if args.distinct else "")
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = context.new_page()
                    page.goto(f"{url}/?{query}")
                    page.get_by_text("training sequences").first.wait_for(timeout=240_000)
                    _idle(page)
                    context.close()
                    time.sleep(args.settle)
                    after.append(_rss(proc.pid))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(30)
    kind = "a distinct seed each" if args.distinct else "the same link each time"
    print(f"{args.visits} visits, each closed ({kind}): {args.query}; {args.repo}")
    print(f"  server before: {mb(before)}; after each visit: " + ", ".join(map(mb, after)))
    print(f"  kept after the last: {mb(after[-1] - before)}")


def largest(args) -> None:
    """The largest batch of `--query`'s settings whose estimate fits the job budget (the
    budget over the queue's slots), trained for one epoch by a dashboard job: its measured
    peak (VmHWM of the training process) against the estimate; one batch more is refused."""
    from urllib.parse import parse_qsl

    sys.path.insert(0, str(args.repo))
    import data
    from dashboard import training
    from dashboard.jobs import TrainingJob, start
    from lstm.budget import BudgetError, fmt_bytes
    from lstm.experiment import configs_for

    query = dict(parse_qsl(args.query))
    name = query.pop("dataset")
    options = {k.split(".", 1)[1]: int(v) for k, v in query.items() if k.startswith(name + ".")}
    model = {k: int(v) for k, v in query.items() if k in ("hidden_size", "num_layers")}
    dataset = data.load_dataset(name, **options)
    limit, how = training.job_budget()

    def estimate(batch):
        m, t = configs_for(dataset, model=model, train={"batch_size": batch, "epochs": 1})
        return training.estimate(dataset, m, t, ["numpy"]), m, t

    low, high = 1, len(dataset.x_train)
    while low < high:  # the largest batch whose estimate fits
        mid = (low + high + 1) // 2
        low, high = (mid, high) if estimate(mid)[0].bytes <= limit else (low, mid - 1)
    est, model_cfg, train_cfg = estimate(low)
    try:
        training.check_budget(estimate(low + 1)[0])
        refused = "not refused (the whole training set fits)"
    except BudgetError as exc:
        refused = f"refused: {str(exc)[:160]}..."
    with tempfile.TemporaryDirectory() as tmp:
        job = TrainingJob(backends=["numpy"], epochs=1, memory_budget=limit)
        start(job, dataset.spec, model_cfg, train_cfg, store_root=tmp)
        peak = 0
        while not job.done:
            try:
                status = Path(f"/proc/{job.process.pid}/status").read_text()
                peak = max(peak, int(status.split("VmHWM:")[1].split()[0]) * 1024)
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.05)
    print(f"job budget {fmt_bytes(limit)} ({how}); {name} {options} {model}")
    print(
        f"  largest batch_size that fits: {low}; estimate {fmt_bytes(est.bytes)}; measured "
        f"peak {fmt_bytes(peak)} ({peak / est.bytes:.2f} of the estimate); {job.status()}"
    )
    print(f"  batch_size {low + 1}: {refused}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["train", "visits", "largest"])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--visits", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--distinct", action="store_true")
    parser.add_argument("--shot", default="")
    parser.add_argument("--query", default="dataset=adding")
    args = parser.parse_args(argv)
    {"train": train, "visits": visits, "largest": largest}[args.mode](args)


if __name__ == "__main__":
    main()
