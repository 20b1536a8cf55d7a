"""nnlab.seeds.results: results.json written atomically, read back, and refused when made with other settings."""

import json

import numpy as np
import pytest

from nnlab.core.errors import NnlabError
from nnlab.seeds.results import jsonable, load_results, save_results, settings_differences

SETTINGS = {"repeats": 1, "seeds": [42], "limit": None, "max_epochs": None}


def record(experiment_id, seconds):
    return {"id": experiment_id, "seconds": seconds, "figures": []}


def test_jsonable_turns_numpy_scalars_into_python():
    value = jsonable({"a": np.float32(0.5), "b": [np.int64(3), np.bool_(True)], 4: (np.float64(1.25),)})
    assert value == {"a": 0.5, "b": [3, True], "4": [1.25]}
    assert [type(v) for v in (value["a"], value["b"][0], value["b"][1])] == [float, int, bool]
    json.dumps(value)


def test_save_then_load_round_trip_sorted_by_the_seeds_order(tmp_path):
    results = {"settings": SETTINGS, "experiments": {"E10": record("E10", 2.5), "E2": record("E2", 1.0)}}
    path = save_results(tmp_path, results, order=["E2", "E10"])
    assert path == tmp_path / "results.json"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left behind
    loaded = load_results(tmp_path, SETTINGS)
    assert list(loaded["experiments"]) == ["E2", "E10"]
    assert loaded["total_seconds"] == 3.5
    assert loaded == json.loads(json.dumps(results))


def test_a_missing_file_gives_a_fresh_record(tmp_path):
    assert load_results(tmp_path, SETTINGS) == {"settings": SETTINGS, "experiments": {}}


@pytest.mark.parametrize("old, new, expected", [
    ({"repeats": 1, "limit": None, "max_epochs": None}, {"repeats": 3, "limit": 600, "max_epochs": None},
     ["--repeats 3 (there: 1)", "--limit 600 (there: none)"]),
    ({"repeats": 2, "limit": 600, "max_epochs": 2}, {"repeats": 2, "limit": 600, "max_epochs": None},
     ["--epochs none (there: 2)"]),
    ({"repeats": 2, "limit": 600, "max_epochs": 2}, {"repeats": 2, "limit": 600, "max_epochs": 2}, []),
])
def test_settings_differences(old, new, expected):
    assert settings_differences(old, new) == expected


@pytest.mark.parametrize("resume", [False, True])
def test_other_settings_are_refused_naming_each_difference_and_the_fix(tmp_path, resume):
    save_results(tmp_path, {"settings": SETTINGS, "experiments": {"E2": record("E2", 1.0)}})
    before = (tmp_path / "results.json").read_bytes()
    other = {"repeats": 3, "seeds": [42, 43, 44], "limit": 600, "max_epochs": None}
    with pytest.raises(NnlabError, match=r"holds results made with other settings: --repeats 3 \(there: 1\), "
                                         r"--limit 600 \(there: none\); pass --overwrite .* another --out") as error:
        load_results(tmp_path, other, resume=resume)
    assert len(str(error.value).splitlines()) == 1
    assert (tmp_path / "results.json").read_bytes() == before  # nothing touched


def test_overwrite_starts_a_fresh_record_whatever_is_there(tmp_path):
    save_results(tmp_path, {"settings": SETTINGS, "experiments": {"E2": record("E2", 1.0)}})
    other = {"repeats": 2, "seeds": [42, 43], "limit": None, "max_epochs": None}
    assert load_results(tmp_path, other, overwrite=True) == {"settings": other, "experiments": {}}
    (tmp_path / "results.json").write_text("{not json")
    assert load_results(tmp_path, other, overwrite=True)["experiments"] == {}


@pytest.mark.parametrize("text", ["{not json", "[]", '{"settings": {}}', '{"settings": 1, "experiments": {}}'])
def test_a_file_that_is_not_a_results_file_is_refused(tmp_path, text):
    (tmp_path / "results.json").write_text(text)
    with pytest.raises(NnlabError, match=r"is not a results file of `nnlab reproduce` .*--overwrite"):
        load_results(tmp_path, SETTINGS)
