"""lstm.losses against torch.nn.functional: values and gradients (by torch autograd), with and
without masks, float64 to 1e-12; masked-out steps really count for nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm.losses import accuracy, cross_entropy, loss_fn, mse
from tests.helpers.torch_ref import torch_loss

TOL = 1e-12


def _mask(rng, shape):
    mask = (rng.random(shape) < 0.5).astype(np.float64)
    mask[0, 0], mask[-1, -1] = 1.0, 0.0
    return mask


def _torch_ref(kind: str, y_hat: np.ndarray, y: np.ndarray, mask: np.ndarray | None):
    """(loss, dLoss/dy_hat) from torch ops and autograd; masked: weighted sum / weight sum."""
    t = torch.tensor(y_hat, requires_grad=True)
    loss = torch_loss(t, y, mask, "regression" if kind == "mse" else "classification")
    loss.backward()
    return loss.item(), t.grad.numpy()


CASES = [
    ("mse", (6, 3), False),  # target="last": (N, O)
    ("mse", (4, 5, 2), False),  # target="each": (N, T, O)
    ("mse", (4, 5, 2), True),
    ("ce", (6, 4), False),
    ("ce", (4, 5, 3), False),
    ("ce", (4, 5, 3), True),
]


@pytest.mark.parametrize(("kind", "shape", "masked"), CASES)
def test_loss_and_gradient_match_torch_functional_float64(kind, shape, masked):
    rng = np.random.default_rng(sum(shape) + masked)
    y_hat = rng.normal(scale=3.0, size=shape)
    ids = rng.integers(0, shape[-1], size=shape[:-1])
    y = rng.normal(size=shape) if kind == "mse" else ids
    mask = _mask(rng, shape[:2]) if masked else None
    fn = mse if kind == "mse" else cross_entropy
    loss, grad = fn(y_hat, y, mask)
    ref_loss, ref_grad = _torch_ref(kind, y_hat, y, mask)
    assert isinstance(loss, float)
    assert abs(loss - ref_loss) <= TOL, f"{kind} loss {loss!r} vs torch {ref_loss!r}"
    assert grad.shape == y_hat.shape
    diff = np.max(np.abs(grad - ref_grad))
    assert diff <= TOL, f"{kind} gradient differs from torch autograd by {diff:.2e}"


@pytest.mark.parametrize("kind", ["mse", "ce"])
def test_masked_out_steps_have_zero_gradient_and_do_not_matter(kind):
    rng = np.random.default_rng(11)
    shape = (3, 6, 2)
    y_hat = rng.normal(size=shape)
    y = rng.normal(size=shape) if kind == "mse" else rng.integers(0, 2, size=shape[:2])
    mask = _mask(rng, shape[:2])
    off = mask == 0
    fn = mse if kind == "mse" else cross_entropy
    loss, grad = fn(y_hat, y, mask)
    assert np.all(grad[off] == 0.0), "a masked-out step got a non-zero gradient"
    assert np.all(np.any(grad[~off] != 0.0, axis=-1))
    changed = y_hat.copy()
    changed[off] = rng.normal(scale=100.0, size=changed[off].shape)
    y_changed = y.copy()
    y_changed[off] = (rng.normal(size=y_changed[off].shape)) if kind == "mse" else 1 - y[off]
    loss2, grad2 = fn(changed, y_changed, mask)
    assert loss2 == loss
    assert np.array_equal(grad2, grad)


def test_unit_mask_equals_no_mask():
    rng = np.random.default_rng(3)
    y_hat, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 4, 2))
    ids = rng.integers(0, 2, size=(3, 4))
    ones = np.ones((3, 4))
    for fn, target in ((mse, y), (cross_entropy, ids)):
        (a, ga), (b, gb) = fn(y_hat, target), fn(y_hat, target, ones)
        assert abs(a - b) <= 1e-15 and np.max(np.abs(ga - gb)) <= 1e-15 * np.max(np.abs(ga))


@pytest.mark.parametrize("fn", [mse, cross_entropy])
def test_all_zero_mask_is_an_error_not_nan(fn):
    y_hat = np.zeros((2, 3, 2))
    y = np.zeros((2, 3, 2)) if fn is mse else np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="mask"):
        fn(y_hat, y, np.zeros((2, 3)))


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="mask"):
        mse(np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 3)))  # mask needs (N, T, O) outputs
    with pytest.raises(ValueError, match="mask"):
        mse(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        mse(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), -np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        mse(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="class ids"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="integer"):
        cross_entropy(np.zeros((2, 3)), np.array([0.5, 1.0]))


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0]])
    # exp(-2000) underflowing to 0 is right (and ignored by NumPy's default); overflow or NaN not
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = cross_entropy(logits, np.array([0, 2]))
    ref, ref_grad = _torch_ref("ce", logits, np.array([0, 2]), None)
    assert np.isfinite(loss) and abs(loss - ref) <= TOL
    assert np.max(np.abs(grad - ref_grad)) <= TOL


@pytest.mark.parametrize("fn", [mse, cross_entropy])
def test_float32_outputs_give_float32_gradients(fn):
    rng = np.random.default_rng(0)
    y_hat = rng.normal(size=(3, 4, 2)).astype(np.float32)
    y = rng.normal(size=(3, 4, 2)) if fn is mse else rng.integers(0, 2, size=(3, 4))
    for mask in (None, np.ones((3, 4))):
        _, grad = fn(y_hat, y, mask)
        assert grad.dtype == np.float32


def test_loss_fn_and_accuracy():
    assert loss_fn("regression") is mse and loss_fn("classification") is cross_entropy
    logits = np.array([[[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]])  # predicts 0, 1, 0
    y = np.array([[0, 0, 0]])
    assert accuracy(logits, y) == pytest.approx(2 / 3)
    assert accuracy(logits, y, np.array([[1, 0, 1]])) == 1.0


def test_accuracy_counts_only_masked_steps_and_refuses_an_empty_mask():
    logits = np.array([[[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]]])  # argmax 0, 1, 0
    y = np.array([[0, 0, 0]])  # right, wrong, right
    assert accuracy(logits, y) == pytest.approx(2 / 3, abs=1e-15)
    assert accuracy(logits, y, np.array([[1, 1, 0]])) == pytest.approx(0.5, abs=1e-15)
    with pytest.raises(ValueError, match="no step"):
        accuracy(logits, y, np.zeros((1, 3)))
