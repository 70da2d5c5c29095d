"""What the fused kernels (`lstm.fused_lstm`, `lstm.fused_gru`, `lstm.fused_rnn`) share: stable
exp-based gate activations, the clip that keeps exp in range, reused buffers, and the chunk
size of their backward passes.

The activations, on whole blocks in place:

    sigmoid(z) = 1 - 1 / (1 + exp(z)),   tanh(z) = 1 - 2 / (1 + exp(2z)),

with z clipped to [-40, 40] first, so exp never overflows or underflows (no warnings, even at
|z| = 1000). The clip changes no result: beyond 40 the formulas give exactly 0, 1 or -1 anyway.
Like 0.5 tanh(z/2) + 0.5, this is accurate to ~1e-16 absolute (not relative, for gates below
~1e-16). NumPy's exp costs about half its tanh in float32, a third in float64. A kernel doubles
the rows of its weights that feed a tanh (exact in binary floating point), so that one chain of
ufuncs activates a block of sigmoids and tanhs at once.
"""

from __future__ import annotations

import math

import numpy as np

# np.clip's Python wrapper costs more than the clipping itself on a (256, 32) block; the ufunc
# underneath does the same thing (numpy is pinned; the fallback is for other versions)
clip = getattr(getattr(getattr(np, "_core", None), "umath", None), "clip", np.clip)

# |z| beyond this changes no gate: sigmoid(40) = 1 - 4e-18 and tanh(20) = 1 - 8e-18 round to 1
Z_LIMIT = 40.0

# backward works through the steps in chunks of about this many bytes of dz (a cache's worth)
CHUNK_BYTES = 256 * 1024


def activate(a: np.ndarray, tanh_from: int) -> None:
    """In place: rows [:tanh_from] of a hold z and become sigmoid(z); rows [tanh_from:] hold
    2z and become tanh(z)."""
    clip(a, -Z_LIMIT, Z_LIMIT, out=a)
    np.exp(a, out=a)
    np.add(a, 1.0, out=a)
    np.divide(1.0, a[:tanh_from], out=a[:tanh_from])  # 1 / (1 + e^z)
    np.divide(2.0, a[tanh_from:], out=a[tanh_from:])  # 2 / (1 + e^2z)
    np.subtract(1.0, a, out=a)


def sigmoid_(a: np.ndarray) -> None:
    """In place: a holds z and becomes sigmoid(z)."""
    clip(a, -Z_LIMIT, Z_LIMIT, out=a)
    np.exp(a, out=a)
    np.add(a, 1.0, out=a)
    np.divide(1.0, a, out=a)
    np.subtract(1.0, a, out=a)


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


def chunk_steps(T: int, rows: int, N: int, itemsize: int) -> int:
    """How many steps of a (rows, N) gradient block make about CHUNK_BYTES."""
    return max(1, min(T, CHUNK_BYTES // (rows * N * itemsize)))


def batch_first(x: np.ndarray) -> np.ndarray:
    """A kernel's (T, H, N) -> a trace's (N, T, H), contiguous."""
    return np.ascontiguousarray(x.transpose(2, 0, 1))
