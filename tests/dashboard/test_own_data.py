"""Your own data in the app (AppTest): the upload asks what to predict, says what it detected
and why, shows window and horizon only for a series, sizes the training to the file, and the
Predictions tab says plainly when a model loses to repeating the last value."""

from __future__ import annotations

import numpy as np

from dashboard import keys, views
from lstm.config import TrainConfig
from lstm.experiment import model_config_for
from lstm.runs import RunStore
from lstm.train import train
from tests.dashboard.conftest import assert_clean, open_tab, start_app, text_of


def _upload(at, name: str, content: bytes):
    at.selectbox(key=keys.DATASET).set_value("upload").run()
    at.file_uploader(key=keys.UPLOAD_FILE).set_value((name, content, "text/csv"))
    return at.run()


def _long_csv(n: int = 30) -> bytes:
    rng = np.random.default_rng(0)
    lines = ["id,step,a,b,activity,speed"]
    for k in range(n):
        kind = ["walk", "run", "sit"][k % 3]
        for s in range(6):
            lines.append(f"s{k},{s},{rng.normal():.3f},{rng.normal():.3f},{kind},{s + k:.1f}")
    return ("\n".join(lines) + "\n").encode()


def _monthly_csv(n: int = 72) -> bytes:
    t = np.arange(n)
    v = 100 + 10 * np.sin(2 * np.pi * t / 12) + t
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    months = [f"{2000 + k // 12} {names[k % 12]}" for k in t]  # dates such as "2000 Jan"
    return (
        "month,sales\n" + "\n".join(f"{m},{x:.2f}" for m, x in zip(months, v, strict=True)) + "\n"
    ).encode()


def test_the_upload_asks_what_to_predict_and_says_what_it_detected(runs_dir):
    at = start_app()
    _upload(at, "moves.csv", _long_csv())
    assert_clean(at)
    question = at.selectbox(key=keys.CSV_PREFIX + "target")
    assert question.label == "**What do you want to predict?**"
    # every column, the text one included, and the detected answer named, never "None"
    assert question.options == [
        "activity (detected)", "id (names the sequences)", "step", "a", "b",
        "activity (text: its values are the classes)", "speed",
    ]  # fmt: skip
    assert "Predicting the class in 'activity' (3 classes)" in text_of(at)
    # sequences: label and id in the main row; no window or horizon
    assert at.selectbox(key=keys.CSV_PREFIX + "label_column")
    assert at.selectbox(key=keys.CSV_PREFIX + "id_column")
    assert not [w for w in at.number_input if w.key in ("csv.window", "csv.horizon")]
    # choosing another column changes what is predicted, and the page says why
    question.set_value("speed").run()
    assert_clean(at)
    assert "Predicting the last step of 'speed': as you chose." in text_of(at)


def test_a_series_upload_shows_window_horizon_and_its_season_and_sizes_the_training(runs_dir):
    at = start_app({"epochs": "2"})
    _upload(at, "sales.csv", _monthly_csv())
    assert_clean(at)
    assert at.number_input(key=keys.CSV_PREFIX + "window") and at.number_input(key="csv.horizon")
    text = text_of(at)
    assert "Predicting the next value(s) of sales: it is the only column of numbers." in text
    assert "detected: 12" in text  # the season of monthly dates, and a window that spans it
    # a new file sets the training to its size: 46 training windows -> batches of 8, 6 steps
    # an epoch, 167 epochs for about 1,000 steps (the URL's 2 epochs were for another dataset)
    assert at.number_input(key="batch_size").value == 8
    assert at.number_input(key="epochs").value == 167


def test_predictions_say_plainly_when_the_model_is_worse_than_repeating_the_last_value(runs_dir):
    import data

    dataset = data.load_dataset("sample:nile")
    cfg = model_config_for(dataset, hidden_size=4)
    run = train(dataset, cfg, TrainConfig(epochs=1, dtype="float64"), store=RunStore())
    # whatever one epoch learned, record a result that loses to persistence
    run.result = {**run.result, "rmse": 200.0, "rmse_persistence": 150.0, "rmse_mean": 180.0,
                  "skill_vs_persistence": 1 - 200.0**2 / 150.0**2}  # fmt: skip
    RunStore().save(run)
    at = start_app({"dataset": "sample:nile"})
    at.session_state[keys.CURRENT_RUN] = run.id
    open_tab(at, "Predictions")
    assert_clean(at)
    text = text_of(at)
    assert (
        ":red-background[:material/cancel: **Worse than repeating the last value: RMSE 200" in text
    )
    assert "-0.78 skill against repeating the last value" in [m.delta for m in at.metric][0]
    beats, words = views.beats_baseline(run.result, run.baseline_loss)
    assert not beats and words.startswith("Worse than repeating the last value")


def test_a_run_saved_before_results_were_recorded_is_judged_with_todays_yardsticks(runs_dir):
    import data

    dataset = data.load_dataset("sample:nile")
    cfg = model_config_for(dataset, hidden_size=4)
    run = train(dataset, cfg, TrainConfig(epochs=2, dtype="float64"))
    run.result = {}  # as an older run.json reads, with the metrics of its time
    for entry in run.history:
        entry["metrics"] = {"mae_original_units": 1.0, "skill_vs_persistence": 0.1}
    assert "rmse" not in views.result_of(run)  # the history alone has no yardsticks
    judged = views.result_of(run, dataset)
    want = dataset.metrics(views.predict(run, dataset.x_val))
    assert judged["rmse_persistence"] == want["rmse_persistence"] and judged["epoch"] == 2
    assert views.beats_baseline(judged)[1].split(":")[0] in (
        "Worse than predicting the training mean",
        "Worse than repeating the last value",
        "Better than predicting the training mean, the best naive forecast",
        "Better than repeating the last value, the best naive forecast",
    )
