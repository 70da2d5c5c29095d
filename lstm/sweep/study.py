"""A sweep is an Optuna study: how it is created or joined (in a storage: lstm.sweep.storage),
its samplers, and the bookkeeping that lets any number of workers share its budget.

The budget: `definition.trials` trials that ran to an end (outcome completed, pruned, diverged or
failed; see `COUNTED`). Each trial records its outcome as a user attribute, so a trial that
never ran to an end (its worker died or was interrupted) does not count and is queued again.
"""

from __future__ import annotations

import json
import os
import socket
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from lstm.sweep.space import SweepDefinition, SweepError
from lstm.sweep.storage import NoJournal, journal_storage, rdb_storage, storage_url, where

DEFINITION_KEY = "lstm_lab_sweep"  # the study user attribute holding the SweepDefinition
# A RUNNING trial that never recorded its worker (killed within its first writes) is taken as
# dead after this long
UNCLAIMED_SECONDS = 120

# trial outcomes (the user attribute "outcome"); the budget counts COUNTED
COUNTED = ("completed", "pruned", "diverged", "failed")
# never ran: not shown, not counted (over the budget, or its worker was stopping)
HIDDEN = ("surplus", "unused")
# did not finish and was queued again: shown, not counted
RETRIED = ("abandoned", "interrupted")


def open_storage(storage=None, runs_dir=None, create: bool = True) -> optuna.storages.BaseStorage:
    """An Optuna storage: `storage` itself if it already is one, an RDB storage for a URL
    (with heartbeats, so a dead worker's trial is noticed on any machine), else a journal file
    (default: the run store's). `create=False`: a missing journal file is a SweepError (looking
    at sweeps creates nothing)."""
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    url = storage_url(storage, runs_dir)
    if not create and "://" not in url and not Path(url).is_file():
        raise NoJournal(f"no sweeps in {url} (no such journal file)")
    if "://" in url:
        return rdb_storage(url, on_stale=requeue)
    return journal_storage(Path(url))


def _normal(definition: SweepDefinition) -> str:
    return json.dumps(definition.to_dict(), sort_keys=True)


def create_sweep(
    name: str, definition: SweepDefinition, storage=None, runs_dir=None
) -> optuna.Study:
    """Create the study `name` holding `definition`, or join it if it exists with the same
    definition (a second process started with the same command). A different definition under
    that name is a SweepError."""
    storage = open_storage(storage, runs_dir)
    study = optuna.create_study(
        study_name=name, storage=storage, direction="minimize", load_if_exists=True
    )
    stored = study.user_attrs.get(DEFINITION_KEY)
    if stored is None:
        study.set_user_attr(DEFINITION_KEY, definition.to_dict())
        study.set_user_attr("created", datetime.now().astimezone().isoformat(timespec="seconds"))
    elif json.dumps(stored, sort_keys=True) != _normal(definition):
        raise SweepError(
            f"a sweep named {name!r} already exists with other settings: join it with "
            f"--resume {name}, or choose another --name"
        )
    return study


def load_sweep(
    name: str, storage=None, runs_dir=None, for_trials: bool = False
) -> tuple[optuna.Study, SweepDefinition]:
    """(study, definition) of an existing sweep; SweepError if there is none. `for_trials`:
    with the definition's sampler and pruner, to run trials."""
    try:
        storage = open_storage(storage, runs_dir, create=False)
    except NoJournal as exc:
        raise SweepError(f"no sweep named {name!r}: {exc}") from None
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        known = f" (sweeps there: {', '.join(names)})" if names else " (it holds no sweep)"
        raise SweepError(f"no sweep named {name!r} in {where(storage)}{known}") from None
    definition = SweepDefinition.from_dict(study.user_attrs.get(DEFINITION_KEY))
    if for_trials:
        study = optuna.load_study(
            study_name=name,
            storage=storage,
            sampler=make_sampler(definition),
            pruner=make_pruner(definition),
        )
    return study, definition


def set_budget(study: optuna.Study, trials: int) -> SweepDefinition:
    """Change a sweep's budget (e.g. to run more trials on resume)."""
    d = dict(study.user_attrs[DEFINITION_KEY])
    definition = SweepDefinition.from_dict({**d, "trials": trials})  # validated
    study.set_user_attr(DEFINITION_KEY, definition.to_dict())
    return definition


# ---------------------------------------------------------------------- samplers and pruners


class TrialSeededRandomSampler(optuna.samplers.RandomSampler):
    """Random search whose every draw depends only on (seed, trial number, setting name), not
    on which worker ran the trial or in what order: a random sweep is the same set of settings
    on 1 worker or 10 (Greff et al.'s protocol, repeatable)."""

    def __init__(self, seed: int = 0):
        super().__init__(seed)
        self._base_seed = int(seed)

    def sample_independent(self, study, trial, param_name, param_distribution):
        key = [self._base_seed, trial.number, zlib.crc32(param_name.encode())]
        self._rng.rng.seed(int(np.random.SeedSequence(key).generate_state(1)[0]))
        return super().sample_independent(study, trial, param_name, param_distribution)


def make_sampler(definition: SweepDefinition) -> optuna.samplers.BaseSampler:
    seed = definition.sampler_seed
    if definition.sampler == "random":
        return TrialSeededRandomSampler(seed)
    # TPE and grid draw from their own generator: one seed per process, so two workers do not
    # make the same draws
    process_seed = int(np.random.SeedSequence([seed, os.getpid()]).generate_state(1)[0])
    if definition.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=process_seed)
    return optuna.samplers.GridSampler(definition.grid(), seed=process_seed)


def make_pruner(definition: SweepDefinition) -> optuna.pruners.BasePruner:
    if definition.pruner == "median":
        # from the 6th trial on, stop a run whose epoch-k val loss is worse than the median of
        # earlier trials at epoch k (never at epoch 1: every run starts near the baseline)
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


# ---------------------------------------------------------------------- the shared budget


def outcome(trial: FrozenTrial) -> str:
    return str(trial.user_attrs.get("outcome", ""))


def is_counted(trial: FrozenTrial) -> bool:
    """Ran to an end: it uses up the budget."""
    return trial.state.is_finished() and outcome(trial) in COUNTED


def is_claim(trial: FrozenTrial) -> bool:
    """Counted, or running towards being counted."""
    if trial.state == TrialState.RUNNING:
        return outcome(trial) not in HIDDEN + RETRIED
    return is_counted(trial)


def counted(study: optuna.Study) -> int:
    return sum(is_counted(t) for t in study.get_trials(deepcopy=False))


def over_budget(study: optuna.Study, trial_number: int, budget: int) -> bool:
    """Whether the trial `trial_number` (running, just created) is past the budget.

    Trial numbers are handed out in one order by the storage, so every worker sees the same
    trials below its own. The claims (counted and running trials) are ranked by number; a trial
    whose rank is `budget` or more is surplus. Two workers that ask at once thus never both run
    the last trial, and the budget is met exactly."""
    claims = [t.number for t in study.get_trials(deepcopy=False) if is_claim(t)]
    return sum(n < trial_number for n in claims) >= budget


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, not ours to signal
        return True
    return True


def requeue(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue a trial that did not finish again with its settings (the next worker runs it):
    the Optuna storage's stale-trial callback for RDB heartbeats, and ours below."""
    if trial.params:
        study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number})


def reclaim_dead(study: optuna.Study) -> list[int]:
    """Fail and queue again the RUNNING trials whose worker has died; their numbers.

    A journal file has no heartbeat, so a dead worker's trial would stay RUNNING for ever and
    hold a place in the budget. Each trial records its worker's host and pid when it starts; on
    this host a trial whose pid no longer exists is dead (a trial without them, after
    UNCLAIMED_SECONDS). Other hosts' trials are left to their own host's workers, and on an RDB
    storage to Optuna's heartbeat (HEARTBEAT_SECONDS / STALE_SECONDS). Two workers may both
    notice a dead trial; only the one whose FAIL is written first queues it again."""
    host, me = socket.gethostname(), os.getpid()
    now = datetime.now()
    found = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get("pid")
        if isinstance(pid, int):
            dead = trial.user_attrs.get("host") == host and pid != me and not _alive(pid)
        else:
            started = trial.datetime_start or now
            dead = now - started > timedelta(seconds=UNCLAIMED_SECONDS)
        if not dead or outcome(trial) in HIDDEN:
            continue
        storage = study._storage
        try:
            storage.set_trial_user_attr(trial._trial_id, "outcome", "abandoned")
            storage.set_trial_user_attr(
                trial._trial_id,
                "message",
                f"Its worker (pid {pid} on {trial.user_attrs.get('host', '?')}) ended during the "
                "trial; the settings were queued again.",
            )
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
            continue  # another worker got there first
        requeue(study, trial)
        found.append(trial.number)
    return found
