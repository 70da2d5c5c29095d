"""What a training run will cost before it starts: memory and time per epoch, and a budget.

    est = estimate(dataset, model_cfg, train_cfg, backend="numpy")
    print(est.describe())          # "about 310 MB of memory (...) and 1.9 s per epoch (...)"
    check(est)                      # ValueError when est.bytes is over the memory budget

`dataset` is a `data.Dataset`, its `summary()` dict, or a plain dict with `train_sequences`,
`val_sequences`, `seq_len`, `input_size` (and optionally `y_train_shape`, `task`, `target`), so a
front end can estimate before it builds the data.

Memory is counted array by array (what the backends allocate, see the parts below) plus the
process's own footprint. It is the peak of the training process, not of one array: the training
workspace and the optimizer stay allocated while the validation set is predicted.

- runtime: Python with NumPy and the data package (and PyTorch for its backend): the measured
  peak of a process that trains a tiny run.
- dataset: x, y (and masks) of both splits, as the data package holds them (float64 inputs).
- parameters: the parameters and every copy of them the run keeps: the backend's, the run's
  latest and initial ones, the gradients, the optimizer's state (Adam: 2 buffers, momentum: 1)
  and its two scratch buffers.
- batch cache: what backpropagation through time keeps for one batch, per layer: the inputs
  [x_t; h_{t-1}; 1] (T+1, K, B), the gates (T, 4H, B), cell states and tanh(c) (T+1 + T, H, B),
  the gradient w.r.t. the layer's input (T, H, B) above layer 0, and for target="each" the
  gradient reaching every h_t (T, H, B); backward's buffers for a chunk of steps (at most 2 MB
  a layer); plus the batch itself.
- evaluation: predicting the whole validation set at once (one pass, no cache): each layer's
  inputs (T+1, K, N_val) with the layer below still alive (torch: every step's input
  projection and outputs), and the outputs.
- snapshots: the gate snapshots' bound (lstm.snapshots, at most 16 MiB), one trace of the
  probe sequences (six (P, T, H) arrays a layer) while it is taken, and the parameters kept at
  the snapshot epochs (at most 16 MiB).

Time per epoch is a count of floating-point operations divided by measured rates, plus
per-step and per-batch overheads, with constants measured on the reference machine (see
TIME_MODEL); a run on another machine or under load differs by the ratio of the machines'
speeds. `python -m benchmarks.budget` measures the estimate against real runs.

The default memory budget is DEFAULT_BUDGET_FRACTION of the memory this process may use: the
machine's physical memory, or the cgroup (container) limit when lower. `LSTM_MEMORY_BUDGET`
(e.g. "4G", "500M", "off") overrides it; so does `train(..., memory_budget=...)` and the CLI's
`--memory-budget`.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from lstm.config import ModelConfig, TrainConfig
from lstm.fused_common import CHUNK_BYTES
from lstm.optim import BUFFERS
from lstm.snapshots import DEFAULT_PROBES, TRACE_PARTS, WEIGHTS_BUDGET_BYTES, plan_snapshots

# share of the usable memory one run may take by default: a run next to the dashboard, a browser
# and another run must not push the machine into swap or the OOM killer
DEFAULT_BUDGET_FRACTION = 0.5

# peak resident bytes of a process that trained a tiny run (Python 3.11, NumPy, pandas through
# `data`: 106 MB; with torch 2.13 CPU: 385 MB), measured with ru_maxrss on the reference machine
RUNTIME_BYTES = {"numpy": 110 * 2**20, "torch": 384 * 2**20}

# Time model: seconds = matmul flops / R_mm + elementwise ops / R_ew + steps * c_step
# + batches * c_batch, where a step is one time step of one layer for one batch (Python's and
# NumPy's per-call cost in the loop over time) and a batch carries the loss, clipping and
# optimizer calls. Measured with `python -m benchmarks.budget --calibrate` on the reference
# machine (2 cores, Python 3.11, NumPy 2.4 with OpenBLAS, torch 2.13 CPU): CPU time per epoch
# of a process with one BLAS thread, so a shared machine's load does not enter; a fit of the
# relative error over 12 configs from H=4, T=5, B=1 (overhead-bound) to H=512 or T=500
# (arithmetic-bound). Worst config of the fit: within 1.3x (numpy) and 1.4x (torch). Two BLAS
# threads on an idle machine make arithmetic-bound configs up to ~2x faster than this.
TIME_MODEL = {  # backend: {dtype: (R_mm flops/s, R_ew ops/s, c_step s, c_batch s)}
    "numpy": {"float32": (96e9, 3.9e9, 15e-6, 150e-6), "float64": (40e9, 2.2e9, 13e-6, 150e-6)},
    "torch": {"float32": (120e9, 3.2e9, 7e-6, 900e-6), "float64": (44e9, 1.2e9, 75e-6, 600e-6)},
}

_ADVICE = {
    "batch cache": "lower batch_size, the sequence length, hidden_size or num_layers",
    "evaluation": "use fewer validation sequences (n_val) or shorter sequences, or a smaller "
    "hidden_size",
    "dataset": "use fewer or shorter sequences (n_train, n_val, seq_len)",
    "parameters": "lower hidden_size or num_layers",
    "snapshots": "lower hidden_size or the sequence length",
    "runtime": "free memory for this process (the budget is below what Python itself needs)",
}


@dataclass(frozen=True)
class DataShape:
    """The sizes an estimate needs from a dataset."""

    train_sequences: int
    val_sequences: int
    seq_len: int
    input_size: int
    nbytes: int  # x, y and masks of both splits, as held in memory


@dataclass(frozen=True)
class Estimate:
    """bytes: the training process's peak memory; parts: bytes by part (they add up to bytes);
    seconds_per_epoch: training one epoch and evaluating it; epochs: planned epochs."""

    bytes: int
    seconds_per_epoch: float
    epochs: int
    parts: dict[str, int] = field(default_factory=dict)
    backend: str = "numpy"

    @property
    def seconds(self) -> float:
        """The whole run (every planned epoch)."""
        return self.seconds_per_epoch * self.epochs

    @property
    def biggest(self) -> str:
        """The largest part that settings change (the runtime only when nothing else counts)."""
        own = {k: v for k, v in self.parts.items() if k != "runtime"}
        return max(own or self.parts, key=(own or self.parts).get)

    def describe(self) -> str:
        """One line: memory with its two biggest parts, and time per epoch and in total."""
        own = sorted((kv for kv in self.parts.items() if kv[0] != "runtime"), key=lambda kv: -kv[1])
        parts = ", ".join(f"{name} {fmt_bytes(size)}" for name, size in own[:2])
        per_epoch = fmt_seconds(self.seconds_per_epoch)
        return (
            f"about {fmt_bytes(self.bytes)} of memory ({parts}) and {per_epoch} per epoch "
            f"({fmt_seconds(self.seconds)} for {self.epochs} epochs) on {self.backend}"
        )


class BudgetError(ValueError):
    """A run that would need more memory than its budget allows."""


def data_shape(data) -> DataShape:
    """A DataShape from a Dataset, its summary() dict, or a dict of the same keys."""
    if hasattr(data, "x_train"):
        arrays = ("x_train", "y_train", "x_val", "y_val", "mask_train", "mask_val")
        nbytes = sum(getattr(getattr(data, a, None), "nbytes", 0) or 0 for a in arrays)
        x = data.x_train
        return DataShape(len(x), len(data.x_val), int(x.shape[1]), int(x.shape[2]), int(nbytes))
    if hasattr(data, "summary"):
        data = data.summary()
    if not isinstance(data, dict):
        raise TypeError(f"expected a Dataset or its summary dict, got {type(data).__name__}")
    try:
        n_train, n_val = int(data["train_sequences"]), int(data["val_sequences"])
        T, D = int(data["seq_len"]), int(data["input_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a dataset summary needs train_sequences, val_sequences, seq_len and "
                         f"input_size: {exc}") from None  # fmt: skip
    n = n_train + n_val
    y_shape = data.get("y_train_shape")
    if isinstance(y_shape, list | tuple) and y_shape and n_train:
        y_values = math.prod(int(v) for v in y_shape) * n // n_train
    else:
        y_values = n * (T if data.get("target") == "each" else 1)
    masks = n * T if data.get("target") == "each" else 0
    return DataShape(n_train, n_val, T, D, 8 * (n * T * D + y_values + masks))


def estimate(data, model_cfg: ModelConfig, train_cfg: TrainConfig, backend: str = "numpy",
             probes: int = DEFAULT_PROBES) -> Estimate:  # fmt: skip
    """Memory and time of training `model_cfg` with `train_cfg` on `data` (see the module
    docstring for what is counted)."""
    shape = online_shape(data_shape(data), train_cfg)
    s = 4 if train_cfg.dtype == "float32" else 8  # bytes per value in the arithmetic
    T, D, H, L = shape.seq_len, shape.input_size, model_cfg.hidden_size, model_cfg.num_layers
    O = model_cfg.output_size
    B = max(1, min(train_cfg.batch_size, shape.train_sequences))
    N_val = shape.val_sequences
    each = model_cfg.target == "each"
    widths = [D] + [H] * (L - 1)  # each layer's input size

    n_params = sum(d * 4 * H + H * 4 * H + 4 * H for d in widths) + H * O + O
    optimizer_buffers = len(BUFFERS[train_cfg.optimizer])
    # backend + run.params + initial (x2: train's copy and init_params') + a params() copy in
    # flight + gradients + optimizer state + its tmp and flat-gradient scratch + the checkpoint
    # (the last finished epoch's params and optimizer state, lstm.checkpoint)
    copies = 5 + 1 + optimizer_buffers + 2 + 1 + optimizer_buffers

    cache = 0
    for k, d in enumerate(widths):
        K = d + H + 1
        cache += (T + 1) * K * B  # inputs [x_t; h_{t-1}; 1]
        cache += T * 4 * H * B  # gates
        cache += (2 * T + 1) * H * B  # cell states and tanh(c)
        if k > 0:
            cache += T * d * B  # gradient w.r.t. this layer's input
    if each:
        cache += T * H * B + 2 * T * O * B  # gradient reaching every h_t; outputs and their grad
    cache *= s
    # backward's buffers for a chunk of steps (lstm.fused_common.CHUNK_BYTES of dz, as much
    # again for the other factors and the inputs), per layer; never more than the whole sequence
    cache += len(widths) * min(2 * CHUNK_BYTES, 2 * T * 6 * H * B * s)
    cache += B * T * D * 8 * 2  # the batch as indexed from the dataset, and its cast

    evaluation = 0
    for k, d in enumerate(widths):
        below = (T + 1) * (widths[k - 1] + H + 1) if k > 0 else T * D  # the input still alive
        # numpy: the inputs [x_t; h_{t-1}; 1] and one step of gates; nn.LSTM: every step's
        # input projection (4H), its output and its gates workspace
        layer = (T + 1) * (d + H + 1) if backend == "numpy" else T * (4 * H + 2 * H + d)
        evaluation = max(evaluation, (layer + below) * N_val)
    evaluation = evaluation * s + N_val * (T if each else 1) * O * 8 * 3  # outputs, loss temps

    plan = plan_snapshots(train_cfg.epochs, N_val, T, H, L, probes)
    p = max(plan.probes, 1)
    trace = p * T * H * len(TRACE_PARTS) * L * 8 * 2  # trace arrays and the forward inside it
    # the parameters kept at snapshot epochs (for the input gradient), within their own budget
    kept = n_params * s * (len(plan.epochs) + 1) if plan.probes else 0
    trace += min(WEIGHTS_BUDGET_BYTES, kept)

    factor = 1.0 if backend == "numpy" else 2.0  # autograd keeps more than this BPTT (measured)
    parts = {
        "runtime": RUNTIME_BYTES.get(backend, RUNTIME_BYTES["torch"]),
        "dataset": shape.nbytes,
        "parameters": n_params * s * copies,
        "batch cache": int(cache * factor),
        "evaluation": int(evaluation),
        "snapshots": plan.max_bytes + trace,
    }
    return Estimate(
        bytes=int(sum(parts.values())),
        seconds_per_epoch=_seconds_per_epoch(shape, model_cfg, train_cfg, backend),
        epochs=train_cfg.epochs,
        parts=parts,
        backend=backend,
    )


def online_shape(shape: DataShape, train_cfg: TrainConfig) -> DataShape:
    """An online epoch trains steps_per_epoch fresh batches (0: the fixed set's count), each of
    batch_size sequences: the shape of that epoch's training part."""
    if not train_cfg.online:
        return shape
    B = train_cfg.batch_size
    steps = train_cfg.steps_per_epoch or math.ceil(shape.train_sequences / B)
    return replace(shape, train_sequences=steps * B)


def work_per_epoch(shape: DataShape, model_cfg: ModelConfig, batch_size: int) -> tuple:
    """(matrix-product flops, elementwise operations, recurrence steps, batches) of one epoch:
    training every batch (forward and backward) and predicting the validation set in one pass.
    A recurrence step is one time step of one layer for one batch (the per-call cost of the
    loop over time); a batch carries the loss, clipping and optimizer calls."""
    T, D, H, L = shape.seq_len, shape.input_size, model_cfg.hidden_size, model_cfg.num_layers
    O = model_cfg.output_size
    N, N_val = shape.train_sequences, shape.val_sequences
    batches = math.ceil(N / max(1, batch_size))
    widths = [D] + [H] * (L - 1)
    matmul = elementwise = 0
    for k, d in enumerate(widths):
        K = d + H + 1
        forward = 2 * 4 * H * K  # z_t = W^T [x_t; h_{t-1}; 1]
        backward = 2 * 4 * H * K + 2 * 4 * H * H + (2 * 4 * H * d if k > 0 else 0)  # dW, dh, dX
        matmul += (forward + backward) * T * N + forward * T * N_val
        # per sequence and step: gate activation and the cell update (~25 H) forward, the
        # backward factors and step (~30 H); per batch and step: dW += dW_t (4H x K)
        elementwise += 55 * H * T * N + 25 * H * T * N_val + 4 * H * K * T * batches
    head = 2 * H * O * (T if model_cfg.target == "each" else 1)
    matmul += 3 * head * N + head * N_val
    steps = (batches + 1) * T * L
    return matmul, elementwise, steps, batches + 1


def _seconds_per_epoch(shape, model_cfg, train_cfg, backend) -> float:
    work = work_per_epoch(shape, model_cfg, train_cfg.batch_size)
    rate_mm, rate_ew, per_step, per_batch = TIME_MODEL.get(backend, TIME_MODEL["numpy"])[
        train_cfg.dtype
    ]
    return work[0] / rate_mm + work[1] / rate_ew + work[2] * per_step + work[3] * per_batch


# ---------------------------------------------------------------------- the budget


def usable_memory() -> tuple[int, str]:
    """(bytes this process may use, where that number comes from): physical memory, or the
    cgroup limit when lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        source = f"this machine's {fmt_bytes(total)} of memory"
    except (ValueError, OSError, AttributeError):
        total, source = 8 * 2**30, "an assumed 8 GB (the machine's memory is unknown)"
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total, source = int(text), f"this container's {fmt_bytes(int(text))} memory limit"
    return total, source


def default_budget() -> tuple[float, str]:
    """(bytes, how it was chosen): LSTM_MEMORY_BUDGET if set, else DEFAULT_BUDGET_FRACTION of
    `usable_memory()`."""
    env = os.environ.get("LSTM_MEMORY_BUDGET", "").strip()
    if env:
        return parse_size(env), f"LSTM_MEMORY_BUDGET={env}"
    total, source = usable_memory()
    return DEFAULT_BUDGET_FRACTION * total, f"{DEFAULT_BUDGET_FRACTION:g} of {source}"


def parse_size(text: str) -> float:
    """ "4G", "512M", "1.5GB", "1000000" (bytes) or "off" (no limit: inf) -> bytes."""
    value = str(text).strip().lower()
    if value in ("off", "none", "inf", "unlimited"):
        return math.inf
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", value)
    if not match:
        raise ValueError(f"memory budget {text!r} is invalid: must be like 4G, 512M or off")
    number = float(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " ")
    if number <= 0:
        raise ValueError(f"memory budget {text!r} is invalid: must be above 0")
    return number


def check(est: Estimate, budget: float | None = None, how: str = "") -> None:
    """BudgetError (a ValueError) when `est.bytes` exceeds `budget` (default: default_budget()),
    naming the estimate, its biggest part and what to lower."""
    if budget is None:
        budget, how = default_budget()
    if est.bytes <= budget:
        return
    part = est.biggest
    where = f" ({how})" if how else ""
    raise BudgetError(
        f"this run would need about {fmt_bytes(est.bytes)} of memory, over the budget of "
        f"{fmt_bytes(budget)}{where}; the biggest part is the {part} "
        f"({fmt_bytes(est.parts[part])}): {_ADVICE[part]}"
    )


def fmt_bytes(n: float) -> str:
    if n == math.inf:
        return "unlimited"
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= size:
            value = n / size  # 1,000 to 1,023 of a unit: 3 digits would read "1.02e+03"
            return f"{value:.3g} {unit}" if value < 999.5 else f"{value:,.0f} {unit}"
    return f"{int(n)} bytes"


def fmt_seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.3g} ms"
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    return f"{s / 3600:.3g} h"
