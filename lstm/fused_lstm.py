"""The fast path of the LSTM family (lstm and its variants): the reference cells of `lstm.cells`
fused into whole-layer kernels, the same equations to rounding (tested against them to 1e-13
in float64).

For layer k at step t (x_t the layer's input), with the cell's blocks among i, f, g, o:

    z_t = x_t @ W_x + h_{t-1} @ W_h + b          (N, G*H)   one fused gate matrix
    i, f, o = sigmoid(z + peepholes), g = tanh(z) (niaf: z); a gate the cell lacks is 1 (cifg:
    f = 1 - i);  c_t = f c_{t-1} + i g,  s_t = tanh(c_t) (noaf: c_t),  h_t = o s_t

Backward, with dh_t the gradient reaching h_t from above and from step t+1: every LSTM-family
cell is, per step,

    dz_o = dh * Fo,   dc = carry + dh * dc_dh,   dz_{i,f,g} = dc * F_{i,f,g},   carry = dc * Fc
    dh_{t-1} (from step t) = dz @ W_h^T,  dx_t = dz @ W_x^T,  dW = sum_t [x_t; h_{t-1}; 1]^T dz_t

where the factors depend on forward values alone. For the LSTM: Fo = s o(1-o), dc_dh =
o (1 - s^2), Fi = g i(1-i), Ff = c_{t-1} f(1-f), Fg = i (1-g^2), Fc = f. A variant changes
some: cifg Fi = (g - c_{t-1}) i(1-i), Fc = 1 - i; nfg Fc = 1; niaf Fg = i; noaf dc_dh = o;
nog dc_dh = 1 - s^2; peephole dc_dh += p_o Fo, Fc = f + p_i Fi + p_f Ff, and
dp = sum [dz_i c_{t-1}; dz_f c_{t-1}; dz_o c_t].

How it is made fast (`python -m benchmarks.backends` measures it against torch.nn.LSTM):
- Inside, arrays are time-major with the batch innermost, (T, features, N): a step's gate block
  (G*H, N) and each gate (H, N) are contiguous. (On strided (N, H) slices of an (N, 4H) array,
  NumPy's ufuncs cost 3-4x more at the dashboard's size, where per-call overhead dominates.)
- A step's gates are one matrix product, z_t = W^T @ [x_t; h_{t-1}; 1] with W = [W_x; W_h; b]:
  the layer's input, its own previous output and a row of ones share one buffer, and h_t is
  written straight into it. Backward accumulates dW = sum_t dz_t [x_t; h_{t-1}; 1]^T, the
  gradients of W_x, W_h and b together, with one product per step.
- The gate axis is in the order o, i, f, g inside (the blocks the cell has): the sigmoid gates
  are one block for the forward pass, o first since a peephole cell's o is activated after the
  others (it waits for c), g last (a tanh, or none in niaf, after the sigmoid rows).
- The gates are activated by one tanh over the whole block and two ufuncs over its sigmoid rows
  (`lstm.fused_common.activate`), those rows of W halved beforehand (a peephole cell's o waits
  for c).
- Backward needs, per step, only what depends on the recurrence: the factors above are computed
  for a chunk of steps at once (about 1 MB of gates, so the chunk is still in the cache when
  its steps use it), so a backward step is seven small ufuncs (one per gate block: a broadcast
  over three blocks costs as much as three calls) and two matrix products (dh, dW). Only a
  chunk of dz is ever kept.
- At the default size a NumPy call's fixed cost (~0.25 us) is about half its time: the loops
  bind their functions to locals and pass `out` by position, and scalars are 0-d arrays.
- The model lends forward and backward a workspace of buffers reused from step to step: a
  training step allocates nothing large (fresh multi-megabyte arrays every step cost ~1200 page
  faults, about 4 ms, a step at the dashboard's size on the reference machine).
- The bottom layer's input gradient is computed only when asked for (`need_dX`).
- keep="none" (predict) keeps one step of gates, c and tanh(c); keep="gates" (trace) keeps gates
  and states for every step but never tanh(c), which only backward needs.
- The plain LSTM (cell="lstm") runs `lstm.fused_lstm_plain.PlainLSTM`, these kernels with a
  step's gates, c_{t-1} and tanh(c_t) side by side (fewer, larger NumPy calls; it keeps tanh(c)
  whatever `keep` says); this module's layout serves the variants.

The interface is `lstm.cell_loop`'s: layer_forward, layer_backward, layer_trace.
"""

from __future__ import annotations

import itertools

import numpy as np

from lstm.cells import LSTM, Identity, Tanh
from lstm.fused_common import batch_first, buffer, input_rows, sigmoid_
from lstm.fused_lstm_backward import FusedLSTMBackward


def _c_full(i, f, g, c_prev, c, tmp):  # c = f c' + i g
    np.multiply(f, c_prev, out=c)
    np.multiply(i, g, out=tmp)
    np.add(c, tmp, out=c)


def _c_no_input_gate(i, f, g, c_prev, c, tmp):  # i = 1
    np.multiply(f, c_prev, out=c)
    np.add(c, g, out=c)


def _c_no_forget_gate(i, f, g, c_prev, c, tmp):  # f = 1
    np.multiply(i, g, out=tmp)
    np.add(c_prev, tmp, out=c)


def _c_coupled(i, f, g, c_prev, c, tmp):  # f = 1 - i: c = c' + i (g - c')
    np.subtract(g, c_prev, out=tmp)
    np.multiply(i, tmp, out=tmp)
    np.add(c_prev, tmp, out=c)


class FusedLSTM(FusedLSTMBackward):
    """The fused kernels of one LSTM-family cell: `FusedLSTM(lstm.cells.CELLS["cifg"])`. The
    backward pass, `layer_backward`, is in `lstm.fused_lstm_backward`."""

    def __init__(self, cell: LSTM):
        if not self.supports(cell):
            raise ValueError(f"cell {cell.name!r} is not one the fused LSTM kernels know")
        self.cell = cell
        self.order = tuple(q for q in "oifg" if q in cell.blocks)  # internal block order
        self.blocks_at = [self.order.index(q) if q in self.order else None for q in "oifg"]
        self.tanh_g = isinstance(cell.g_act, Tanh)
        self.tanh_c = isinstance(cell.out_act, Tanh)
        if "i" in cell.blocks and "f" in cell.blocks:
            self.update_c = _c_full
        elif "i" not in cell.blocks:
            self.update_c = _c_no_input_gate
        else:
            self.update_c = _c_coupled if cell.coupled else _c_no_forget_gate

    @staticmethod
    def supports(cell) -> bool:
        """A cell whose equations are the LSTM family's, switched by the flags this module
        knows (a subclass that rewrites the step runs on the reference loop instead)."""
        if not isinstance(cell, LSTM) or "g" not in cell.blocks:
            return False
        plain = type(cell).step is LSTM.step and type(cell).step_backward is LSTM.step_backward
        acts = all(isinstance(a, Tanh | Identity) for a in (cell.g_act, cell.out_act))
        peep_ok = not cell.peepholes or set("ifo") <= set(cell.blocks)
        coupled_ok = not cell.coupled or ("i" in cell.blocks and "f" not in cell.blocks)
        return plain and acts and peep_ok and coupled_ok and set(cell.extras) <= {"p"}

    def _rows(self, q: str, H: int, order=None) -> slice:
        """Where block q sits on a G*H axis in `order` (default: the internal order)."""
        k = (order or self.order).index(q)
        return slice(k * H, (k + 1) * H)

    def _columns(self, W: np.ndarray, H: int, order_from, order_to, out=None) -> np.ndarray:
        """W's last axis, blocks in `order_from`, rearranged into `order_to`."""
        blocks = [W[..., self._rows(q, H, order_from)] for q in order_to]
        return np.concatenate(blocks, axis=-1, out=out)

    def _peepholes(self, p: dict, H: int):
        if not self.cell.peepholes:
            return None
        return [p["p"][k * H : (k + 1) * H, None] for k in range(3)]  # (H, 1) each: i, f, o

    # ------------------------------------------------------------------------- forward

    def layer_forward(self, p: dict, X: np.ndarray, keep: str = "all",
                      workspace: dict | None = None, name: str = "") -> dict:  # fmt: skip
        """One layer over the whole sequence. X (T, D, N) is the layer's input, time-major with
        the batch innermost; p holds W_x, W_h, b (canonical) and the extras. Returns a dict with
        - inputs (T+1, K, N), K = D + H + 1: inputs[t] = [x_t; h_{t-1}; 1], so the gates of step
          t are one product W^T @ inputs[t];
        - hs (T+1, H, N): the view inputs[:, D:D+H], h_t at index t (h_0 = 0);
        - W (K, G*H): [W_x; W_h; b] with internal columns;
        and by `keep`: "all" (what backward needs): A (T, G*H, N) the activations in internal
        order, cs (T+1, H, N) with c_0 = 0, tanh_cs (T, H, N) (tanh cells); "gates" (what trace
        shows): A and cs; "none": nothing more (gates, c and tanh(c) live in one-step buffers).
        The large arrays come from `workspace` under keys starting with `name`, when given."""
        cell, order = self.cell, self.order
        T, D, N = X.shape
        H = p["W_h"].shape[0]
        G = len(order)
        dtype = p["W_h"].dtype
        W = np.concatenate([p["W_x"], p["W_h"], p["b"][None, :]])  # (K, G*H), canonical
        W = self._columns(W, H, cell.blocks, order)
        Ws = np.ascontiguousarray(W.T)  # (G*H, K): z_t = Ws @ inputs[t]
        g_row = (G - 1) * H  # g is the last block
        Ws[:g_row] *= 0.5  # sigmoid rows give z/2 (exact): sigmoid(z) = (1 + tanh(z/2)) / 2
        inputs = input_rows(workspace, name, X, H, dtype)
        hs = inputs[:, D : D + H]
        all_steps = keep != "none"
        A = buffer(workspace, name + "A", (T if all_steps else 1, G * H, N), dtype)
        cs = buffer(workspace, name + "cs", (T + 1 if all_steps else 2, H, N), dtype)
        cs[0] = 0.0
        s_steps = T if keep == "all" else 1
        tanh_cs = (
            buffer(workspace, name + "tanh_cs", (s_steps, H, N), dtype) if self.tanh_c else None
        )
        tmp = np.empty((H, N), dtype)
        peep = self._peepholes(p, H)
        if peep:
            peep_half = [0.5 * w for w in peep]  # the sigmoid gates' rows hold z/2
        first = H if peep else 0  # a peephole cell's o waits for c
        # each step's views, made up front (indexing in the loop costs more than some ufuncs)
        blocks = A.reshape(len(A), G, H, N).transpose(1, 0, 2, 3)  # per block (steps, H, N)
        # a (the step's gates), the rows one tanh activates (all from `first`, or the sigmoid
        # rows alone when g = z), the sigmoid rows, then o, i, f, g
        activated = A[:, first:] if self.tanh_g else A[:, first:g_row]
        views = [A, activated, A[:, first:g_row]]
        views += [blocks[order.index(q)] if q in order else None for q in "oifg"]
        if all_steps:
            gates = zip(*(itertools.repeat(None) if v is None else v for v in views), strict=False)
            c_pairs = zip(cs[:-1], cs[1:], strict=True)
        else:
            gates = itertools.repeat([v[0] if v is not None else None for v in views], T)
            c_pairs = ((cs[t % 2], cs[(t + 1) % 2]) for t in range(T))
        if tanh_cs is None:
            tcs = itertools.repeat(None)
        else:
            tcs = tanh_cs if keep == "all" else itertools.repeat(tanh_cs[0], T)
        steps = zip(inputs[:T], gates, c_pairs, tcs, hs[1:], strict=False)  # some repeat forever
        update_c = None if self.update_c is _c_full else self.update_c  # None: inlined
        half = np.array(0.5, dtype)  # a 0-d array: a Python float costs a conversion a call
        # the loop's NumPy functions as locals, `out` passed by position: ~50 ns less a call,
        # ~1.5% of a step at the default size, where a call's fixed cost is about half its time
        dot, tanh, mul, add = np.dot, np.tanh, np.multiply, np.add
        for x_h_1, (a, act, sig, o, i, f, g), (c_prev, c), tc, h in steps:
            dot(Ws, x_h_1, a)  # np.dot: matmul's ufunc machinery costs ~0.5 us more
            if peep:
                for gate, weight in ((i, peep_half[0]), (f, peep_half[1])):
                    mul(c_prev, weight, tmp)
                    add(gate, tmp, gate)
            tanh(act, act)  # activate(), inlined: sigmoid(z) = (1 + tanh(z/2)) / 2
            mul(sig, half, sig)
            add(sig, half, sig)
            if update_c is None:  # _c_full
                mul(f, c_prev, c)
                mul(i, g, tmp)
                add(c, tmp, c)
            else:
                update_c(i, f, g, c_prev, c, tmp)
            if peep:
                mul(c, peep_half[2], tmp)
                add(o, tmp, o)
                sigmoid_(o)
            s = c
            if tc is not None:
                s = tanh(c, tc)
            if o is not None:
                mul(o, s, h)
            else:
                np.copyto(h, s)
        layer = {"inputs": inputs, "hs": hs, "W": W, "workspace": workspace, "name": name}
        if all_steps:
            layer.update(A=A, cs=cs, peep=peep)
        if keep == "all":
            layer["tanh_cs"] = tanh_cs if tanh_cs is not None else cs[1:]
        return layer

    def layer_trace(self, layer: dict) -> dict[str, np.ndarray]:
        """{i, f, g, o (post-activation; a gate the cell lacks at its value), c, h: (N, T, H)}
        from a layer run with keep="gates"."""
        A, H = layer["A"], layer["hs"].shape[1]
        parts = {q: batch_first(A[:, self._rows(q, H)]) for q in self.order}
        one = np.ones_like(parts["g"])
        for q in "ifo":
            if q not in parts:
                parts[q] = 1.0 - parts["i"] if q == "f" and self.cell.coupled else one
        parts["c"], parts["h"] = batch_first(layer["cs"][1:]), batch_first(layer["hs"][1:])
        return {q: parts[q] for q in ("i", "f", "g", "o", "c", "h")}
