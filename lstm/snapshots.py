"""Gate snapshots taken during training, and gate saturation at the end.

A snapshot is the trace (the cell's trace parts of every layer, `lstm.cells.trace_parts`: gates
i, f, g, o, cell c and hidden h for the LSTM family, r, z, n, h for the GRU, h for the RNN) of a
few fixed "probe" sequences, the first P of the validation set, taken before training (epoch 0)
and at up to 30 evenly spaced epochs including the last, so the dashboard can show the gates
changing.

Memory bound: all snapshot arrays of a run together stay within `SNAPSHOT_BUDGET_BYTES` (16 MiB).
One snapshot of P probes costs P * T * H * parts * L * 4 bytes (a float32 array per trace part
and layer: six for the LSTM family). When
the plan would exceed the budget, it gives up, in this order: probe sequences (down to 1),
snapshot epochs (down to 0 and the last), hidden units (only the first U units are kept), and
finally snapshots altogether. One slot is reserved for the epoch at which a run stops early.

Weights: the parameters at each snapshot epoch are kept too (`Run.snapshots["weights"]`, epoch ->
canonical params), so the dashboard can compute what the traces cannot hold, such as the input
gradient at that epoch (`lstm.input_gradient`). They stay within `WEIGHTS_BUDGET_BYTES` (16 MiB):
when every snapshot epoch's parameters would not fit, evenly spaced ones are kept (0 and the last
among them, one slot reserved for an early stop), or none when not even two fit.

Saturation (Karpathy, Johnson and Fei-Fei 2015, "Visualizing and understanding recurrent
networks"): per layer, gate and unit, the fraction of the probe's (unmasked) steps at which the
gate is nearly closed or nearly open: sigmoid gates (i, f, o; r, z) below 0.1 / above 0.9, tanh
candidates (g; n) below -0.9 / above 0.9. Only the gates a cell computes count (`Cell.gates`):
not a gate fixed at 1, not niaf's unbounded g = a_g; the RNN has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm.cells import get_cell

SNAPSHOT_BUDGET_BYTES = 16 * 2**20
WEIGHTS_BUDGET_BYTES = 16 * 2**20  # the parameters kept at snapshot epochs, all together
MAX_SNAPSHOT_EPOCHS = 30  # besides epoch 0: enough frames for a slider, few enough to keep
DEFAULT_PROBES = 4
TRACE_PARTS = ("i", "f", "g", "o", "c", "h")  # the LSTM's; lstm.cells.trace_parts(cell) for any
SIGMOID, TANH = (0.1, 0.9), (-0.9, 0.9)
SATURATION_THRESHOLDS = {"i": SIGMOID, "f": SIGMOID, "g": TANH, "o": SIGMOID, "r": SIGMOID,
                         "z": SIGMOID, "n": TANH}  # fmt: skip


@dataclass(frozen=True)
class SnapshotPlan:
    probes: int  # probe sequences kept (0: no snapshots at all)
    epochs: tuple[int, ...]  # planned snapshot epochs, 0 and the last included
    units: int  # hidden units kept per array (the first `units`)
    seq_len: int
    num_layers: int
    parts: int = len(TRACE_PARTS)  # trace arrays per layer: the cell's trace parts

    @property
    def bytes_per_snapshot(self) -> int:
        return self.probes * self.seq_len * self.units * self.parts * self.num_layers * 4

    @property
    def max_bytes(self) -> int:
        """The most the snapshots can take: the planned epochs plus one early-stop slot."""
        return self.bytes_per_snapshot * (len(self.epochs) + 1)


def plan_snapshots(epochs: int, num_val: int, seq_len: int, hidden_size: int, num_layers: int,
                   probes: int = DEFAULT_PROBES, budget: int | None = None,
                   max_epochs: int = MAX_SNAPSHOT_EPOCHS,
                   parts: int = len(TRACE_PARTS)) -> SnapshotPlan:  # fmt: skip
    """Which probes, epochs and units to keep so that `max_bytes <= budget` (default
    SNAPSHOT_BUDGET_BYTES); `parts`: trace arrays per layer (`len(trace_parts(cell))`)."""
    budget = SNAPSHOT_BUDGET_BYTES if budget is None else budget
    per_value = parts * num_layers * 4  # bytes per (probe, step, unit)

    def cost(p: int, n: int, u: int) -> int:
        return p * (n + 1) * seq_len * u * per_value  # n snapshots + one stop slot

    p = max(0, min(probes, num_val))
    n = min(epochs, max_epochs) + 1
    u = hidden_size
    if cost(p, n, u) > budget:
        p = max(1, min(p, budget // max(1, cost(1, n, u))))
    if cost(p, n, u) > budget:
        n = max(2, budget // max(1, p * seq_len * u * per_value) - 1)
    if cost(p, n, u) > budget:
        u = max(1, budget // max(1, cost(p, n, 1)))
    if cost(p, n, u) > budget or p == 0:
        return SnapshotPlan(0, (), 0, seq_len, num_layers, parts)
    chosen = sorted({int(e) for e in np.round(np.linspace(0, epochs, n))})
    return SnapshotPlan(p, tuple(chosen), u, seq_len, num_layers, parts)


def weight_epochs(planned: tuple[int, ...], param_bytes: int,
                  budget: int = WEIGHTS_BUDGET_BYTES) -> tuple[int, ...]:  # fmt: skip
    """The planned snapshot epochs whose parameters are kept: all of them when they fit within
    `budget` with one slot to spare (an early stop), else evenly spaced ones with the first and
    the last, else none (not even two fit)."""
    room = budget // max(1, param_bytes) - 1
    if room >= len(planned):
        return tuple(planned)
    if room < 2:
        return ()
    picks = np.unique(np.round(np.linspace(0, len(planned) - 1, room)).astype(int))
    return tuple(planned[k] for k in picks)


class SnapshotRecorder:
    """Collects float32 traces of the probe sequences at chosen epochs, and the parameters at
    those epochs within `weights_budget` bytes."""

    def __init__(self, plan: SnapshotPlan, x_val: np.ndarray, y_val: np.ndarray,
                 mask_val: np.ndarray | None,
                 weights_budget: int = WEIGHTS_BUDGET_BYTES):  # fmt: skip
        self.plan = plan
        self.weights_budget = weights_budget
        self.weights: dict[int, dict[str, np.ndarray]] = {}  # epoch -> canonical params
        self._weight_epochs: tuple[int, ...] | None = None  # decided at the first parameters
        p = max(plan.probes, 1)  # saturation needs a probe even when snapshots are off
        self.x = np.array(x_val[:p])
        self.y = np.array(y_val[:p])
        self.mask = None if mask_val is None else np.array(mask_val[:p])
        self.epochs: list[int] = []
        self.traces: list[dict[str, np.ndarray]] = []

    def wants(self, epoch: int, final: bool = False) -> bool:
        """Whether to trace at `epoch`: a planned epoch, or (final=True) the epoch a run that
        ends early reached, which uses the plan's reserved slot."""
        planned = final or epoch in self.plan.epochs
        return self.plan.probes > 0 and planned and epoch not in self.epochs

    def add(self, epoch: int, trace: dict[str, np.ndarray], params: dict | None = None) -> None:
        """Keep `trace` (keys l{k}.{part}, each (P, T, H)) as float32, first units only, and
        `params` (the canonical parameters it was traced with) if the weights budget allows."""
        if self.plan.probes == 0 or epoch in self.epochs:
            return
        u = self.plan.units
        kept = {k: np.ascontiguousarray(v[..., :u], dtype=np.float32) for k, v in trace.items()}
        self.epochs.append(int(epoch))
        self.traces.append(kept)
        if params is not None:
            self._keep_weights(int(epoch), params)

    def _keep_weights(self, epoch: int, params: dict) -> None:
        size = sum(np.asarray(p).nbytes for p in params.values())
        if self._weight_epochs is None:
            self._weight_epochs = weight_epochs(self.plan.epochs, size, self.weights_budget)
        early_stop = epoch not in self.plan.epochs  # the reserved slot
        fits = (len(self.weights) + 1) * size <= self.weights_budget
        if (epoch in self._weight_epochs or early_stop) and fits:
            self.weights[epoch] = {k: np.array(v) for k, v in params.items()}

    def as_dict(self) -> dict:
        """Run.snapshots: epochs, probe x and y (and mask), units kept, one trace per epoch,
        and the parameters kept at some of those epochs (`weights`: epoch -> params)."""
        return {
            "epochs": list(self.epochs),
            "x": self.x if self.plan.probes else self.x[:0],
            "y": self.y if self.plan.probes else self.y[:0],
            "mask": self.mask,
            "units": self.plan.units,
            "traces": list(self.traces),
            "weights": dict(self.weights),
        }


def snapshot_bytes(snapshots: dict | None) -> int:
    """Bytes held by the snapshot traces."""
    if not snapshots:
        return 0
    return sum(a.nbytes for t in snapshots["traces"] for a in t.values())


def saturation(trace: dict[str, np.ndarray], num_layers: int, mask: np.ndarray | None = None,
               cell: str = "lstm") -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """{"l{k}.{gate}": {"low": (H,), "high": (H,)}} for each gate `cell` computes: per unit, the
    fraction of counted steps of the traced sequences below / above the gate's thresholds (see
    the module docstring)."""
    result = {}
    first = trace["l0.h"]
    weights = np.ones(first.shape[:2]) if mask is None else np.asarray(mask, dtype=np.float64)
    if weights.sum() <= 0:  # a probe whose steps are all masked out: count every step
        weights = np.ones(first.shape[:2])
    weights = weights[..., None] / weights.sum()  # (P, T, 1)
    for k in range(num_layers):
        for gate in get_cell(cell).gates:
            low, high = SATURATION_THRESHOLDS[gate]
            values = trace[f"l{k}.{gate}"]
            result[f"l{k}.{gate}"] = {
                "low": ((values < low) * weights).sum(axis=(0, 1)),
                "high": ((values > high) * weights).sum(axis=(0, 1)),
            }
    return result
