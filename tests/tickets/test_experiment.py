"""nnlab.tickets.experiment (reproduce T1), on smaller random inputs than the seeds' 1,280 x 10,000."""

import nnlab.tickets.experiment as experiment


def test_seeds_example_reports_the_graph_list_dict_equality_and_the_third_head(monkeypatch):
    monkeypatch.setattr(experiment, "SAMPLES", 64)
    monkeypatch.setattr(experiment, "VOCABULARY_SIZE", 50)
    monkeypatch.setattr(experiment, "NUM_TAGS", 8)
    said = []
    values, details = experiment.seeds_example(seed=42, say=said.append)
    params = 108 * 64 + 64 + 65 + 260
    assert values["layer_names"] is True and values["concatenate_width"] == 108 and values["params"] == params
    assert values["list_equals_dict"] is True and values["list_loss"] == values["dict_loss"]
    assert values["third_head_outputs"] == 3 and values["third_head_params"] == params + 64 * 3 + 3
    assert values["third_head_reads_shared"] is True
    assert len(said) == 2 and details["concatenate_inputs"] == ["(None, 50)", "(None, 50)", "(None, 8)"]
