import json
import math

import pytest

from course_lib.results import load_results, record_result


def test_record_and_load_round_trip(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    record_result("05_vae", {"test -ELBO": 131.5, "epochs": 3}, budget="cpu", data_source="mnist", train_seconds=12.345)
    record_result("05_vae", {"test -ELBO": 120.0}, budget="cpu", data_source="mnist", train_seconds=1)  # rebuild overwrites
    record_result("01_intro", {"acc": 0.5}, budget="smoke", data_source="toy", train_seconds=0)
    table = load_results()
    assert list(table["chapter"]) == ["01_intro", "05_vae"]
    assert table.loc[table.chapter == "05_vae", "value"].item() == 120.0
    assert json.loads((tmp_path / "05_vae.json").read_text())["train_seconds"] == 1.0


def test_refuses_non_finite_metrics(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="non-finite"):
        record_result("x", {"loss": math.nan}, budget="cpu", data_source="d", train_seconds=0)
    assert not list(tmp_path.glob("*.json"))
