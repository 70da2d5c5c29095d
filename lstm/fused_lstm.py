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
  are one block for the forward pass, the gates that backward multiplies by dc (i, f, g)
  another.
- The gates are activated by one tanh over the whole block and two ufuncs over its sigmoid rows
  (`lstm.fused_common.activate`), those rows of W halved beforehand (a peephole cell's o waits
  for c).
- Backward needs, per step, only what depends on the recurrence: the factors above are computed
  for a chunk of steps at once (about 256 KB of gates, so the chunk is still in the cache when
  its steps use it), so a backward step is five small ufuncs and two matrix products. Only a
  chunk of dz is ever kept.
- The model lends forward and backward a workspace of buffers reused from step to step: a
  training step allocates nothing large (fresh multi-megabyte arrays every step cost ~1200 page
  faults, about 4 ms, a step at the dashboard's size on the reference machine).
- The bottom layer's input gradient is computed only when asked for (`need_dX`).
- keep="none" (predict) keeps one step of gates, c and tanh(c); keep="gates" (trace) keeps gates
  and states for every step but never tanh(c), which only backward needs.

The interface is `lstm.cell_loop`'s: layer_forward, layer_backward, layer_trace.
"""

from __future__ import annotations

import itertools

import numpy as np

from lstm.cells import LSTM, Identity, Tanh
from lstm.fused_common import batch_first, buffer, chunk_steps, flush_tiny, sigmoid_

# dW_t = dz_t [x_t; h_{t-1}; 1]^T: for small products OpenBLAS multiplies by a contiguous (N, K)
# much faster than by the transposed view of a (K, N), so backward copies a chunk's inputs
# transposed first. Measured (OpenBLAS 0.3.31, float32, one thread): (N, K) = (32, 66) 15 -> 9 us
# a step, (8, 66) 6.4 -> 4.4; no gain at (128, 265) and a loss at (32, 258).
_SMALL_PRODUCT = 4096  # K * N up to which the copy pays


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


class FusedLSTM:
    """The fused kernels of one LSTM-family cell: `FusedLSTM(lstm.cells.CELLS["cifg"])`."""

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
        G, K = len(order), D + H + 1
        dtype = p["W_h"].dtype
        W = np.concatenate([p["W_x"], p["W_h"], p["b"][None, :]])  # (K, G*H), canonical
        W = self._columns(W, H, cell.blocks, order)
        Ws = np.ascontiguousarray(W.T)  # (G*H, K): z_t = Ws @ inputs[t]
        g_row = (G - 1) * H  # g is the last block
        Ws[:g_row] *= 0.5  # sigmoid rows give z/2 (exact): sigmoid(z) = (1 + tanh(z/2)) / 2
        inputs = buffer(workspace, name + "inputs", (T + 1, K, N), dtype)
        inputs[:T, :D] = X
        inputs[:T, D + H] = 1.0
        inputs[T, :D] = 0.0  # never read
        inputs[T, D + H] = 0.0
        hs = inputs[:, D : D + H]
        hs[0] = 0.0
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
        update_c = self.update_c
        for x_h_1, (a, act, sig, o, i, f, g), (c_prev, c), tc, h in steps:
            np.dot(Ws, x_h_1, out=a)  # np.dot: matmul's ufunc machinery costs ~0.5 us more
            if peep:
                for gate, weight in ((i, peep_half[0]), (f, peep_half[1])):
                    np.multiply(c_prev, weight, out=tmp)
                    np.add(gate, tmp, out=gate)
            np.tanh(act, out=act)  # activate(), inlined: sigmoid(z) = (1 + tanh(z/2)) / 2
            np.multiply(sig, 0.5, out=sig)
            np.add(sig, 0.5, out=sig)
            update_c(i, f, g, c_prev, c, tmp)
            if peep:
                np.multiply(c, peep_half[2], out=tmp)
                np.add(o, tmp, out=o)
                sigmoid_(o)
            s = c
            if tc is not None:
                s = np.tanh(c, out=tc)
            if o is not None:
                np.multiply(o, s, out=h)
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

    # ------------------------------------------------------------------------- backward

    def _factors(self, A, c_prev, c, s, peep, F, dc_dh, Fc) -> None:
        """The backward factors of S steps at once (see the module docstring): F like A (Fo
        and F_{i,f,g} in internal order), dc_dh like c; Fc (or None) the carry factor when it
        is neither f (read from A) nor 1."""
        S, GH, N = A.shape
        H = c.shape[1]
        sig = GH - H  # the sigmoid gates' rows: all but g, the last block
        np.subtract(1.0, A[:, :sig], out=F[:, :sig])
        F[:, :sig] *= A[:, :sig]  # s (1 - s): the sigmoid's derivative
        A4, F4 = A.reshape(S, -1, H, N), F.reshape(S, -1, H, N)
        Ao, Ai, Af, Ag = (None if k is None else A4[:, k] for k in self.blocks_at)
        Fo, Fi, Ff, Fg = (None if k is None else F4[:, k] for k in self.blocks_at)
        if Fo is not None:
            Fo *= s  # do = dh * s
        if Fi is not None and self.cell.coupled:
            np.subtract(Ag, c_prev, out=dc_dh)  # (scratch) di = dc (g - c') when f = 1 - i
            Fi *= dc_dh
        elif Fi is not None:
            Fi *= Ag  # di = dc * g
        if Ff is not None:
            Ff *= c_prev  # df = dc * c'
        if self.tanh_g:
            np.multiply(Ag, Ag, out=Fg)
            np.subtract(1.0, Fg, out=Fg)  # tanh' = 1 - g^2
        else:
            Fg[...] = 1.0
        if Ai is not None:
            Fg *= Ai  # dg = dc * i
        if self.tanh_c:
            np.multiply(s, s, out=dc_dh)
            np.subtract(1.0, dc_dh, out=dc_dh)
        else:
            dc_dh[...] = 1.0
        if Ao is not None:
            dc_dh *= Ao  # dc += dh * o * act'(c)
        if peep:
            np.multiply(Fo, peep[2], out=Fc)  # o looks at c
            dc_dh += Fc
            np.multiply(Fi, peep[0], out=Fc)  # i and f look at c'
            Fc += Af
            Fc += Ff * peep[1]
        elif self.cell.coupled:
            np.subtract(1.0, Ai, out=Fc)

    def layer_backward(self, dH: np.ndarray | None, dh_last: np.ndarray | None, layer: dict,
                       out: dict, need_dX: bool = True) -> np.ndarray | None:  # fmt: skip
        """BPTT through one layer. dH (T, H, N) is the gradient reaching every h_t from above,
        or None when only the last step gets one (dh_last, (H, N)). Writes the gradients of W_x,
        W_h, b (canonical) and p into `out`; returns dX (T, D, N), the gradient w.r.t. the
        layer's input, when `need_dX`, else None.

        Steps are taken in chunks of about CHUNK_BYTES of dz, last chunk first: the factors of a
        chunk are computed just before its steps use them, while they are still in the cache,
        and only a chunk's dz is kept (dX takes its share of each chunk)."""
        A, cs, s_all, inputs, W = (layer[k] for k in ("A", "cs", "tanh_cs", "inputs", "W"))
        peep, cell, order = layer["peep"], self.cell, self.order
        T, GH, N = A.shape
        H = cs.shape[1]
        K = inputs.shape[1]
        D = K - H - 1
        dtype = A.dtype
        workspace, name = layer["workspace"], layer["name"]
        chunk = chunk_steps(T, GH, N, A.itemsize)
        F_all = buffer(workspace, name + "dZ", (chunk, GH, N), dtype)
        dc_dh_all = buffer(workspace, name + "dc_dh", (chunk, H, N), dtype)
        own_carry = peep is not None or cell.coupled  # a carry factor that is not f or 1
        Fc_all = buffer(workspace, name + "Fc", (chunk, H, N), dtype) if own_carry else None
        dX = buffer(workspace, name + "dX", (T, D, N), dtype) if need_dX else None
        inputs_T_all = None
        if K * N <= _SMALL_PRODUCT:
            inputs_T_all = buffer(workspace, name + "inputs_T", (chunk, N, K), dtype)
        W_h = W[D : D + H]  # (H, G*H), contiguous: dh_{t-1} = W_h (internal columns) @ dz_t
        dW = np.zeros((GH, K), dtype)  # sum_t dz_t @ inputs[t]^T, transposed
        dW_t = np.empty((GH, K), dtype)
        dp = [np.zeros(H, dtype) for _ in range(3)] if peep else None
        dh_sum = np.empty((H, N), dtype)
        dh_rec = np.empty((H, N), dtype)  # gradient reaching h_t from step t+1
        dc = np.zeros((H, N), dtype)  # gradient reaching c_t from step t+1, then total at c_t
        tmp = np.empty((H, N), dtype)
        has_o = "o" in order
        for t1 in range(T, 0, -chunk):
            flush_tiny(dc, dh_rec)  # see lstm.fused_common
            t0 = max(0, t1 - chunk)
            S = t1 - t0
            F, dc_dh = F_all[:S], dc_dh_all[:S]
            Fc = Fc_all[:S] if own_carry else None
            c_prev, c = cs[t0:t1], cs[t0 + 1 : t1 + 1]
            self._factors(A[t0:t1], c_prev, c, s_all[t0:t1], peep, F, dc_dh, Fc)
            F_o = F[:, :H] if has_o else itertools.repeat(None)
            F_cg = F[:, H if has_o else 0 :].reshape(S, -1, H, N)  # the blocks times dc
            if own_carry:
                carry = Fc
            elif "f" in order:
                carry = A[t0:t1, self._rows("f", H)]
            else:
                carry = itertools.repeat(None)  # f = 1
            inputs_T = inputs[t0:t1].transpose(0, 2, 1)  # [x_t; h_{t-1}; 1]^T, (S, N, K)
            if inputs_T_all is not None:
                np.copyto(inputs_T_all[:S], inputs_T)
                inputs_T = inputs_T_all[:S]
            steps = zip(range(t1 - 1, t0 - 1, -1), F[::-1], _rev(F_o), F_cg[::-1], dc_dh[::-1],
                        _rev(carry), inputs_T[::-1], strict=False)  # fmt: skip
            for t, dz, dz_o, dz_cg, dc_dh_t, fc, x_h_1_T in steps:
                if t == T - 1:
                    dh = dH[t] if dH is not None else dh_last
                elif dH is not None:
                    dh = np.add(dH[t], dh_rec, out=dh_sum)
                else:
                    dh = dh_rec
                np.multiply(dh, dc_dh_t, out=tmp)
                np.add(dc, tmp, out=dc)
                np.multiply(dz_cg, dc, out=dz_cg)
                if dz_o is not None:
                    np.multiply(dz_o, dh, out=dz_o)
                if t > 0:
                    if fc is not None:
                        np.multiply(dc, fc, out=dc)  # carry to step t-1
                    np.dot(W_h, dz, out=dh_rec)
                np.dot(dz, x_h_1_T, out=dW_t)
                np.add(dW, dW_t, out=dW)
            if peep:
                for k, (q, state) in enumerate((("i", c_prev), ("f", c_prev), ("o", c))):
                    dp[k] += (F[:, self._rows(q, H)] * state).sum(axis=(0, 2))
            if dX is not None:
                np.matmul(W[:D], F, out=dX[t0:t1])
        dW = dW.T  # (K, G*H), internal columns
        for key, rows in (("W_x", slice(0, D)), ("W_h", slice(D, D + H)), ("b", D + H)):
            self._columns(dW[rows], H, order, cell.blocks, out=out[key])
        if peep:
            np.concatenate(dp, out=out["p"])
        return dX


def _rev(seq):
    """seq reversed, or an endless None for an itertools.repeat(None)."""
    return seq if isinstance(seq, itertools.repeat) else seq[::-1]
