"""What the fused kernels (`lstm.fused_lstm`, `lstm.fused_gru`, `lstm.fused_rnn`) share: gate
activations on whole blocks, reused buffers, and the chunk size of their backward passes.

The activations, in place, on blocks whose sigmoid rows were halved beforehand (a kernel halves
those rows of its weights and biases once a layer, exact in binary floating point):

    sigmoid(z) = 0.5 + 0.5 tanh(z / 2),   tanh(z)

so one tanh call activates a block of sigmoids and tanhs at once, and two more finish the
sigmoids. tanh never overflows (no warnings, even at |z| = 1000) and this sigmoid is accurate to
~1e-16 absolute (not relative, for gates below ~1e-16). Measured on the reference machine
(AVX-512, NumPy 2.4): float32 tanh costs 0.7x exp, and the three calls cost 0.4x the former
chain 1 - 1 / (1 + exp(z)) with a clip (0.45x on a (1024, 128) block; float64 0.7-0.8x).
"""

from __future__ import annotations

import functools
import math

import numpy as np

# backward works through the steps in chunks of about this many bytes of dz (half an L2 cache
# of the reference machine, 2 MB a core). Measured there (train step, float32, one thread, A/B
# in one process) against 256 KB: lstm default 1-2% faster, long 2%, noaf and gru 0-1%.
CHUNK_BYTES = 1024 * 1024


def activate(a: np.ndarray, tanh_from: int) -> None:
    """In place: rows [:tanh_from] hold z/2 and become sigmoid(z); rows [tanh_from:] hold z and
    become tanh(z)."""
    np.tanh(a, out=a)
    sigmoids = a[:tanh_from]
    np.multiply(sigmoids, 0.5, out=sigmoids)
    np.add(sigmoids, 0.5, out=sigmoids)


def sigmoid_(a: np.ndarray) -> None:
    """In place: a holds z/2 and becomes sigmoid(z)."""
    activate(a, len(a))


def flush_tiny(*arrays: np.ndarray) -> None:
    """Set the entries of each array below tiny / eps (1e-31 in float32, 1e-292 in float64) to
    0, in place. Backward calls it on the gradients it carries from step to step, once a chunk of
    steps: over long sequences a vanishing gradient decays towards the subnormal range, where
    every operation on x86 costs ~100x more, products inside the matrix products included
    (measured: 32 x 500 float32 training steps took 6-8x longer while it lasted). What it drops
    is 1e-24 of a float32 gradient of 1e-7, and the gradients that reach it were shrinking."""
    for a in arrays:
        np.copyto(a, 0, where=np.abs(a) < _tiny_limit(a.dtype))


@functools.cache
def _tiny_limit(dtype: np.dtype) -> float:
    info = np.finfo(dtype)
    return float(info.tiny / info.eps)


def buffer(workspace: dict | None, name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, carved from `workspace`'s flat buffer `name` (kept
    there for the next call, grown when too small) when a workspace is given: a training loop
    then does not allocate, and page-fault, megabytes a step."""
    if workspace is None:
        return np.empty(shape, dtype)
    size = math.prod(shape)
    flat = workspace.get(name)
    if flat is None or flat.dtype != dtype or flat.size < size:
        flat = workspace[name] = np.empty(size, dtype)
    return flat[:size].reshape(shape)


def input_rows(workspace: dict | None, name: str, X: np.ndarray, H: int, dtype) -> np.ndarray:
    """The (T + 1, D + H + 1, N) columns [x_t; h_{t-1}; 1] a kernel multiplies its stacked
    weights by: X (T, D, N) filled in, the bias row 1, h_0 = 0; the caller writes h_t into
    rows D..D+H of step t + 1 as it goes (the last step's x and bias rows are never read)."""
    T, D, N = X.shape
    inputs = buffer(workspace, name + "inputs", (T + 1, D + H + 1, N), dtype)
    inputs[:T, :D] = X
    inputs[:T, D + H] = 1.0
    inputs[T, :D] = 0.0
    inputs[T, D + H] = 0.0
    inputs[0, D : D + H] = 0.0
    return inputs


def incoming_dh(t: int, T: int, dH, dh_last, dh_rec: np.ndarray, out: np.ndarray) -> np.ndarray:
    """dL/dh_t in a backward pass: from the outputs at step t (dH, when every step has a
    target; at the last step dh_last otherwise) plus what step t + 1 sent back (dh_rec)."""
    if t == T - 1:
        return dH[t] if dH is not None else dh_last
    if dH is not None:
        return np.add(dH[t], dh_rec, out=out)
    return dh_rec


def chunk_steps(T: int, rows: int, N: int, itemsize: int) -> int:
    """How many steps of a (rows, N) gradient block make about CHUNK_BYTES."""
    return max(1, min(T, CHUNK_BYTES // (rows * N * itemsize)))


def batch_first(x: np.ndarray) -> np.ndarray:
    """A kernel's (T, H, N) -> a trace's (N, T, H), contiguous."""
    return np.ascontiguousarray(x.transpose(2, 0, 1))
