"""The training protocol of issue 17: online mode (fresh batches, sequences seen), the time
limit, stop-when-solved, and resume (N epochs then M more is bitwise the N + M epoch run)."""

from __future__ import annotations

import numpy as np
import pytest

import data
from data.presets import Threshold
from lstm.checkpoint import rng_from_words, rng_words
from lstm.config import TrainConfig
from lstm.experiment import model_config_for
from lstm.run_files import RunStoreError
from lstm.runs import RunStore
from lstm.train import train
from tests.helpers.datasets import sum_dataset, tiny_configs


def adding(**options):
    return data.load_dataset("adding", **{"seq_len": 8, "n_train": 40, "n_val": 16, **options})


def configs(ds, **train_options):
    defaults = dict(epochs=4, batch_size=8, lr=0.02, seed=3)
    return model_config_for(ds, hidden_size=5), TrainConfig(**{**defaults, **train_options})


# ------------------------------------------------------------------------------- online mode


def test_online_epochs_are_fresh_batches_from_the_sampler_and_count_sequences_seen():
    ds = adding()
    calls = []
    sampler = ds.sampler

    def counting(rng, n):
        calls.append(n)
        return sampler(rng, n)

    ds.sampler = counting
    train_before = ds.x_train.copy()
    model_cfg, train_cfg = configs(ds, epochs=3, online=True, steps_per_epoch=4)
    run = train(ds, model_cfg, train_cfg)
    assert run.status == "completed", run.message
    assert calls == [8] * 12  # 4 fresh batches of 8 per epoch
    assert [h["sequences_seen"] for h in run.history] == [32, 64, 96]
    assert run.result["sequences_seen"] == run.history[run.result["epoch"] - 1]["sequences_seen"]
    assert np.array_equal(ds.x_train, train_before)  # the fixed set is neither used nor touched


def test_online_batches_come_from_the_run_s_one_generator():
    """The sampler draws from the trainer's generator (seeded by the run), so the same seed
    sees the same sequences: drawing them again from default_rng(seed) gives the same x."""
    ds = adding()
    seen = []
    sampler = ds.sampler
    ds.sampler = lambda rng, n: seen.append(sampler(rng, n)) or seen[-1]
    model_cfg, train_cfg = configs(ds, epochs=1, online=True, steps_per_epoch=3, seed=11)
    train(ds, model_cfg, train_cfg)
    rng = np.random.default_rng(11)
    for x, y, _ in seen:
        again = sampler(rng, 8)
        assert np.array_equal(x, again[0]) and np.array_equal(y, again[1])


def test_online_and_stop_when_solved_are_refused_where_they_cannot_apply():
    ds = sum_dataset()  # no sampler, no thresholds
    model_cfg, train_cfg = tiny_configs(ds, online=True)
    with pytest.raises(ValueError, match="online=True needs a dataset that draws fresh"):
        train(ds, model_cfg, train_cfg)
    model_cfg, train_cfg = tiny_configs(ds, stop_when_solved=True)
    with pytest.raises(ValueError, match="stop_when_solved=True needs a definition of solved"):
        train(ds, model_cfg, train_cfg)


# ------------------------------------------------------------------- time limit, solved


def test_time_limit_ends_the_run_stopped_and_keeps_every_finished_epoch():
    ds = sum_dataset(n_train=16, n_val=4, seq_len=3)
    model_cfg, train_cfg = tiny_configs(ds, epochs=10000, batch_size=16, time_limit=0.5)
    run = train(ds, model_cfg, train_cfg)
    assert run.status == "stopped"
    assert run.message.startswith("Time limit of 0.5 s reached")
    assert 1 <= len(run.history) < 10000
    assert f"The {len(run.history)} finished epochs are kept" in run.message
    assert run.checkpoint["epoch"] == len(run.history)  # resumable from there


def test_stop_when_solved_ends_the_run_completed_at_the_first_solving_epoch():
    ds = adding()
    model_cfg, train_cfg = configs(ds, epochs=8)
    full = train(ds, model_cfg, train_cfg)
    losses = [h["val_loss"] for h in full.history]
    line = losses[3] * (1 + 1e-9)  # met first at the first epoch at or below epoch 4's loss
    first = next(e for e, v in enumerate(losses, 1) if v < line)
    ds.thresholds = (Threshold("val_loss", "<", line),)
    run = train(ds, model_cfg, TrainConfig(**{**train_cfg.to_dict(), "stop_when_solved": True}))
    assert run.status == "completed"
    assert run.message.startswith(f"Solved at epoch {first} after {first * 40:,} training")
    assert len(run.history) == first and run.solved["epoch"] == first
    assert run.solved["sequences_seen"] == first * 40 and run.solved["seconds"] > 0
    # it keeps the weights that solved it (an earlier epoch's lower loss may not meet the bar)
    assert run.result["epoch"] == first
    assert all(np.array_equal(run.params[k], v) for k, v in run.checkpoint["params"].items())
    # without stop_when_solved the run goes on, and records the same first solving epoch
    ds.thresholds = (Threshold("val_loss", "<", line),)
    again = train(ds, model_cfg, train_cfg)
    assert len(again.history) == 8 and again.solved["epoch"] == first


# ------------------------------------------------------------------------------- resume


def _history(run):
    skip = ("seconds", "samples_per_sec")
    return [{k: v for k, v in h.items() if k not in skip} for h in run.history]


RESUME_CASES = {
    "fixed set, adam, float32": dict(),
    "online, rmsprop + decay, cosine, float64": dict(
        online=True, steps_per_epoch=3, optimizer="rmsprop", weight_decay=0.01,
        schedule="cosine", dtype="float64",
    ),
    "momentum, step schedule": dict(optimizer="momentum", lr=0.01, schedule="step", lr_step=2),
}  # fmt: skip


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_after_n_epochs_equals_the_uninterrupted_run_bitwise_on_numpy(case, tmp_path):
    ds = adding()
    model_cfg, straight_cfg = configs(ds, epochs=5, **RESUME_CASES[case])
    straight = train(ds, model_cfg, straight_cfg)

    store = RunStore(tmp_path)
    if straight_cfg.schedule == "cosine":  # its horizon is `epochs`: stop after 2 of the 5
        steps = 3 if straight_cfg.online else 5
        polls = []
        first = train(ds, model_cfg, straight_cfg, store=store,
                      should_stop=lambda: polls.append(1) or len(polls) > 2 * steps)  # fmt: skip
        assert first.status == "stopped" and len(first.history) == 2
    else:  # 2 epochs, then raise `epochs` to 5 on resume
        first_cfg = TrainConfig(**{**straight_cfg.to_dict(), "epochs": 2})
        first = train(ds, model_cfg, first_cfg, store=store)
    loaded = store.load(first.id, checkpoint=True)
    rebuilt = data.dataset_from_spec(loaded.dataset)
    resumed = train(rebuilt, model_cfg, straight_cfg, store=store, resume=loaded)

    assert resumed.id == first.id and resumed.status == "completed"
    assert _history(resumed) == _history(straight)
    for name, value in straight.checkpoint["params"].items():
        assert np.array_equal(resumed.checkpoint["params"][name], value), name
    for name, value in straight.params.items():  # the kept epoch's weights
        assert np.array_equal(resumed.params[name], value), name
    assert resumed.result == straight.result
    assert resumed.checkpoint["sequences_seen"] == straight.checkpoint["sequences_seen"]
    assert np.array_equal(resumed.checkpoint["rng"], straight.checkpoint["rng"])
    for key, value in straight.checkpoint["optimizer"].items():
        assert np.array_equal(resumed.checkpoint["optimizer"][key], value), key
    reread = store.load(first.id)
    assert len(reread.history) == 5 and reread.status == "completed"


def test_resume_after_a_stop_mid_epoch_continues_from_the_last_finished_epoch(tmp_path):
    ds = adding()
    model_cfg, train_cfg = configs(ds, epochs=4)
    straight = train(ds, model_cfg, train_cfg)
    store, steps = RunStore(tmp_path), []
    # 5 steps per epoch: stop during epoch 3, after two of its steps
    stopped = train(ds, model_cfg, train_cfg, store=store,
                    should_stop=lambda: steps.append(1) or len(steps) > 12)  # fmt: skip
    assert stopped.status == "stopped" and len(stopped.history) == 2
    loaded = store.load(stopped.id, checkpoint=True)
    assert loaded.checkpoint["epoch"] == 2
    resumed = train(ds, model_cfg, train_cfg, store=store, resume=loaded)
    assert _history(resumed) == _history(straight)
    for name, value in straight.params.items():
        assert np.array_equal(resumed.params[name], value), name


def test_resume_refuses_what_would_not_continue_the_same_run(tmp_path):
    ds = adding()
    model_cfg, train_cfg = configs(ds, epochs=2)
    store = RunStore(tmp_path)
    run = train(ds, model_cfg, train_cfg, store=store)
    loaded = store.load(run.id, checkpoint=True)
    changed = TrainConfig(**{**train_cfg.to_dict(), "lr": 0.5, "epochs": 3})
    with pytest.raises(ValueError, match="cannot change lr: only epochs, time_limit"):
        train(ds, model_cfg, changed, resume=loaded)
    fewer = TrainConfig(**{**train_cfg.to_dict(), "epochs": 1})
    with pytest.raises(ValueError, match="epochs=1 is below the 2 epochs"):
        train(ds, model_cfg, fewer, resume=loaded)
    with pytest.raises(ValueError, match="trained on 'adding' with other options"):
        train(adding(seq_len=9), model_config_for(adding(seq_len=9), hidden_size=5), train_cfg,
              resume=loaded)  # fmt: skip
    with pytest.raises(ValueError, match="has no checkpoint"):
        train(ds, model_cfg, train_cfg, resume=store.load(run.id))
    loaded.status = "diverged"
    with pytest.raises(ValueError, match="is diverged: only a completed, stopped or interrupted"):
        train(ds, model_cfg, train_cfg, resume=loaded)


def test_a_damaged_checkpoint_is_refused_naming_the_file(tmp_path):
    ds = adding()
    model_cfg, train_cfg = configs(ds, epochs=1)
    store = RunStore(tmp_path)
    run = train(ds, model_cfg, train_cfg, store=store)
    path = tmp_path / run.id / "checkpoint.npz"
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["params/head.W"] = np.full_like(arrays["params/head.W"], np.nan)
    np.savez(path, **arrays)
    with pytest.raises(RunStoreError, match=r"checkpoint\.npz: params/head\.W holds NaN"):
        store.load(run.id, checkpoint=True)
    assert store.load(run.id).status == "completed"  # the run itself still opens
    del arrays["rng"]
    np.savez(path, **arrays)
    with pytest.raises(RunStoreError, match=r"checkpoint\.npz does not fit the model: missing"):
        store.load(run.id, checkpoint=True)


def test_the_generator_state_round_trips_through_six_words():
    rng = np.random.default_rng(123)
    rng.random(7)
    rng.integers(0, 2**31)  # leaves a buffered 32-bit value behind
    again = rng_from_words(rng_words(rng))
    assert np.array_equal(rng.random(5), again.random(5))
    assert rng.integers(0, 2**31, 4).tolist() == again.integers(0, 2**31, 4).tolist()
