"""The backward pass of the fused LSTM-family kernels (`lstm.fused_lstm.FusedLSTM`, which mixes
this class in): backpropagation through time over a layer's steps in chunks, with the factors of
the module docstring of `lstm.fused_lstm` computed for a chunk of steps at once.
"""

from __future__ import annotations

import itertools

import numpy as np

from lstm.fused_common import buffer, chunk_steps, flush_tiny, incoming_dh

# dW_t = dz_t [x_t; h_{t-1}; 1]^T: for small products OpenBLAS multiplies by a contiguous (N, K)
# much faster than by the transposed view of a (K, N), so backward copies a chunk's inputs
# transposed first. Measured (OpenBLAS 0.3.31, float32, one thread): (N, K) = (32, 66) 15 -> 9 us
# a step, (8, 66) 6.4 -> 4.4; no gain at (128, 265) and a loss at (32, 258).
_SMALL_PRODUCT = 4096  # K * N up to which the copy pays


class FusedLSTMBackward:
    """`layer_backward` of the fused LSTM kernels, and the factors of `FusedLSTM`'s layout: they
    read its `cell`, `order`, `blocks_at`, `tanh_g`, `tanh_c`, `_rows` and `_columns`. A kernel
    with another layout (`lstm.fused_lstm_plain`) overrides `_factor_buffers` and `_factors`."""

    def _factor_buffers(self, layer: dict, T: int, GH: int, H: int, N: int) -> tuple:
        """The workspace buffers `_factors` fills, for a chunk of steps: F (chunk, G*H, N) (dz
        once the steps have run), dc_dh (chunk, H, N) and Fc (or None), the carry factor when
        it is neither f (read from A) nor 1. The chunk's length comes first."""
        workspace, name, dtype = layer["workspace"], layer["name"], layer["W"].dtype
        chunk = chunk_steps(T, GH, N, dtype.itemsize)
        F = buffer(workspace, name + "dZ", (chunk, GH, N), dtype)
        dc_dh = buffer(workspace, name + "dc_dh", (chunk, H, N), dtype)
        own_carry = layer["peep"] is not None or self.cell.coupled
        Fc = buffer(workspace, name + "Fc", (chunk, H, N), dtype) if own_carry else None
        return chunk, F, dc_dh, Fc

    def _factors(self, layer: dict, t0: int, t1: int, buffers: tuple) -> tuple:
        """The backward factors of steps t0..t1-1 at once (`lstm.fused_lstm`'s docstring), in
        `buffers` (from `_factor_buffers`). Returns (F, dc_dh, carry): F (S, G*H, N) holds Fo
        and F_{i,f,g} in internal order, dc_dh (S, H, N), carry (S, H, N) or None (f = 1)."""
        _, F, dc_dh, Fc = buffers
        S = t1 - t0
        F, dc_dh = F[:S], dc_dh[:S]
        A, cs, peep = layer["A"][t0:t1], layer["cs"], layer["peep"]
        c_prev, s = cs[t0:t1], layer["tanh_cs"][t0:t1]
        GH, H, N = F.shape[1], dc_dh.shape[1], F.shape[2]
        one = np.array(1.0, A.dtype)  # a 0-d array: a Python float costs a conversion a call
        # s (1 - s), the sigmoid's derivative, on the sigmoid rows (all but g, the last block):
        # on a contiguous chunk, over all its rows, g's included (overwritten below): one pass
        # over contiguous memory costs about what a pass over one block's strided rows does
        # (measured at the default size: 7 us either way for a chunk of 8 steps)
        rows = slice(None) if A.flags.c_contiguous else slice(0, GH - H)
        np.subtract(one, A[:, rows], out=F[:, rows])
        np.multiply(F[:, rows], A[:, rows], out=F[:, rows])
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
            np.subtract(one, Fg, out=Fg)  # tanh' = 1 - g^2
        else:
            Fg[...] = 1.0
        if Ai is not None:
            Fg *= Ai  # dg = dc * i
        if self.tanh_c:
            np.multiply(s, s, out=dc_dh)
            np.subtract(one, dc_dh, out=dc_dh)
        else:
            dc_dh[...] = 1.0
        if Ao is not None:
            dc_dh *= Ao  # dc += dh * o * act'(c)
        carry = Af  # f, or None when f = 1 (nfg)
        if peep:
            Fc = Fc[:S]
            np.multiply(Fo, peep[2], out=Fc)  # o looks at c
            dc_dh += Fc
            np.multiply(Fi, peep[0], out=Fc)  # i and f look at c'
            Fc += Af
            Fc += Ff * peep[1]
            carry = Fc
        elif self.cell.coupled:
            carry = np.subtract(one, Ai, out=Fc[:S])
        return F, dc_dh, carry

    def layer_backward(self, dH: np.ndarray | None, dh_last: np.ndarray | None, layer: dict,
                       out: dict, need_dX: bool = True) -> np.ndarray | None:  # fmt: skip
        """BPTT through one layer. dH (T, H, N) is the gradient reaching every h_t from above,
        or None when only the last step gets one (dh_last, (H, N)). Writes the gradients of W_x,
        W_h, b (canonical) and p into `out`; returns dX (T, D, N), the gradient w.r.t. the
        layer's input, when `need_dX`, else None.

        Steps are taken in chunks of about CHUNK_BYTES of dz, last chunk first: the factors of a
        chunk are computed just before its steps use them, while they are still in the cache,
        and only a chunk's dz is kept (dX takes its share of each chunk)."""
        inputs, hs, W = layer["inputs"], layer["hs"], layer["W"]
        peep, cell, order = layer.get("peep"), self.cell, self.order
        T, K, N = inputs.shape[0] - 1, inputs.shape[1], inputs.shape[2]
        H, GH = hs.shape[1], W.shape[1]
        D = K - H - 1
        dtype = W.dtype
        workspace, name = layer["workspace"], layer["name"]
        buffers = self._factor_buffers(layer, T, GH, H, N)
        chunk = buffers[0]
        dX = buffer(workspace, name + "dX", (T, D, N), dtype) if need_dX else None
        inputs_T_all = None
        if K * N <= _SMALL_PRODUCT:
            inputs_T_all = buffer(workspace, name + "inputs_T", (chunk, N, K), dtype)
        W_h = W[D : D + H]  # (H, G*H), contiguous: dh_{t-1} = W_h (internal columns) @ dz_t
        dW = np.zeros((GH, K), dtype)  # sum_t dz_t @ inputs[t]^T, transposed
        dW_t = np.empty((GH, K), dtype)
        dp = [np.zeros(H, dtype) for _ in range(3)] if peep else None
        carried = np.zeros((2, H, N), dtype)  # what reaches step t from step t+1:
        dh_rec, dc = carried  # the gradient at h_t; at c_t (then the total at c_t)
        dh_sum = np.empty((H, N), dtype)
        by_dc = [q for q in order if q != "o"]  # the blocks dc multiplies, then None to 3
        dot, mul, add = np.dot, np.multiply, np.add  # locals, `out` by position: see fused_lstm
        none = itertools.repeat(None)
        for t1 in range(T, 0, -chunk):
            flush_tiny(carried)  # see lstm.fused_common
            t0 = max(0, t1 - chunk)
            S = t1 - t0
            F, dc_dh, carry = self._factors(layer, t0, t1, buffers)
            F_o = F[:, self._rows("o", H)][::-1] if "o" in order else none
            F_c = [F[:, self._rows(q, H)][::-1] for q in by_dc] + [none] * (3 - len(by_dc))
            inputs_T = inputs[t0:t1].transpose(0, 2, 1)  # [x_t; h_{t-1}; 1]^T, (S, N, K)
            if inputs_T_all is not None:
                np.copyto(inputs_T_all[:S], inputs_T)
                inputs_T = inputs_T_all[:S]
            carries = none if carry is None else carry[::-1]
            steps = zip(range(t1 - 1, t0 - 1, -1), F[::-1], F_o, *F_c, dc_dh[::-1], carries,
                        inputs_T[::-1], strict=False)  # fmt: skip
            for t, dz, dz_o, dz_1, dz_2, dz_3, dc_dh_t, fc, x_h_1_T in steps:
                dh = incoming_dh(t, T, dH, dh_last, dh_rec, dh_sum)
                mul(dc_dh_t, dh, dc_dh_t)
                add(dc, dc_dh_t, dc)
                if dz_o is not None:
                    mul(dz_o, dh, dz_o)
                # a call a block: a broadcast (3, H, N) * (H, N) costs about three calls
                mul(dz_1, dc, dz_1)
                if dz_2 is not None:
                    mul(dz_2, dc, dz_2)
                    if dz_3 is not None:
                        mul(dz_3, dc, dz_3)
                if t > 0:
                    if fc is not None:
                        mul(dc, fc, dc)  # carry to step t-1
                    dot(W_h, dz, dh_rec)
                dot(dz, x_h_1_T, dW_t)
                add(dW, dW_t, dW)
            if peep:
                cs = layer["cs"]
                for k, (q, state) in enumerate((("i", cs[t0:t1]), ("f", cs[t0:t1]),
                                                ("o", cs[t0 + 1 : t1 + 1]))):  # fmt: skip
                    dp[k] += (F[:, self._rows(q, H)] * state).sum(axis=(0, 2))
            if dX is not None:
                np.matmul(W[:D], F, out=dX[t0:t1])
        dW = dW.T  # (K, G*H), internal columns
        for key, rows in (("W_x", slice(0, D)), ("W_h", slice(D, D + H)), ("b", D + H)):
            self._columns(dW[rows], H, order, cell.blocks, out=out[key])
        if peep:
            np.concatenate(dp, out=out["p"])
        return dX
