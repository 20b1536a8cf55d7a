"""``nnlab sweep --executor ray`` on the test session's local Ray, run as users run it (the installed command).

The same tiny logistic-regression trials as tests/sweep/test_local.py, so each sweep takes
seconds plus the driver joining the cluster.
"""

import csv
import json
import os
import signal
import subprocess
import time

import pytest
import yaml



def env():
    """The environment now: the ``ray_address`` fixture adds the cluster's token to it."""
    return {**os.environ, "NNLAB_OFFLINE": "1", "COLUMNS": "200"}

GRID = {"task": "fashion", "base": {"preset": "logreg", "epochs": 2, "limit": 300, "batch_size": 50},
        "space": {"optimizer.name": {"grid": ["sgd", "adam"]}, "optimizer.learning_rate": {"grid": [0.01]}},
        "metric": "val_accuracy"}


def sweep(nnlab_command, cwd, spec, *args, name="spec.yaml"):
    (cwd / name).write_text(yaml.safe_dump(spec, sort_keys=False))
    return subprocess.run([nnlab_command, "sweep", name, *args], cwd=cwd, env=env(), capture_output=True, text=True,
                          timeout=600)


def table(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def local_rows(nnlab_command, tmp_path_factory):
    """results.csv of GRID on the local executor: what Ray must give."""
    folder = tmp_path_factory.mktemp("local-grid")
    local = sweep(nnlab_command, folder, GRID, "--out", "local")
    assert local.returncode == 0, local.stderr
    return table(folder / "local" / "results.csv")


def test_a_grid_on_ray_gives_the_local_executors_trials_and_metrics(nnlab_command, ray_address, tmp_path, local_rows):
    ray = sweep(nnlab_command, tmp_path, GRID, "--out", "ray", "--executor", "ray", "--address", ray_address,
                "--jobs", "2")
    assert ray.returncode == 0, ray.stderr
    assert "Traceback" not in ray.stderr and "[2/2] trial" in ray.stdout
    rows_local, rows_ray = local_rows, table(tmp_path / "ray" / "results.csv")
    assert [r["trial"] for r in rows_ray] == ["0", "1"] and {r["status"] for r in rows_ray} == {"complete"}
    for a, b in zip(rows_local, rows_ray):
        assert [a[key] for key in GRID["space"]] == [b[key] for key in GRID["space"]]
        for figure in ("val_accuracy", "val_loss", "test_accuracy", "test_loss"):
            assert float(a[figure]) == pytest.approx(float(b[figure]), abs=1e-5), figure
    for row in rows_ray:  # ordinary run folders, named as locally; the metric is the best epoch's
        assert row["runs"].endswith(f"runs/trial-000{row['trial']}")
        history = json.loads((tmp_path / row["runs"]).joinpath("history.json").read_text())
        assert float(row["val_accuracy"]) == pytest.approx(max(history["val_accuracy"]))
    best = max(rows_ray, key=lambda r: float(r["val_accuracy"]))
    settings = yaml.safe_load((tmp_path / "ray" / "best.yaml").read_text())
    assert settings["optimizer"]["name"] == best["optimizer.name"]
    assert "<table" in (tmp_path / "ray" / "report.html").read_text()
    status = subprocess.run([nnlab_command, "sweep", "--status", "ray"], cwd=tmp_path, env=env(), capture_output=True,
                            text=True)
    assert status.returncode == 0 and "2 of 2 trials finished" in status.stdout
    again = sweep(nnlab_command, tmp_path, GRID, "--out", "ray", "--executor", "ray", "--address", ray_address)
    assert again.returncode == 0 and table(tmp_path / "ray" / "results.csv") == rows_ray  # done: nothing reruns


def test_a_seeded_search_on_ray_asks_the_same_trials_and_a_bad_combination_fails_alone(nnlab_command, ray_address,
                                                                                         tmp_path):
    spec = {"task": "fashion", "base": {"preset": "logreg", "epochs": 1, "limit": 300},
            "space": {"optimizer.name": {"choice": ["sgd", "adam"]}, "optimizer.momentum": {"uniform": [0.0, 0.9]}},
            "trials": 3, "seed": 3}
    first = sweep(nnlab_command, tmp_path, spec, "--out", "a", "--executor", "ray", "--address", ray_address)
    again = sweep(nnlab_command, tmp_path, spec, "--out", "b", "--executor", "ray", "--address", ray_address)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    rows_a, rows_b = table(tmp_path / "a" / "results.csv"), table(tmp_path / "b" / "results.csv")
    keys = list(spec["space"])
    assert [r["trial"] for r in rows_a] == ["0", "1", "2"]
    assert [[r[k] for k in keys] for r in rows_a] == [[r[k] for k in keys] for r in rows_b]
    for row in rows_a:  # momentum with adam is refused by the settings: that trial fails, the others run
        if row["optimizer.name"] == "adam" and float(row["optimizer.momentum"]) > 0:
            assert row["status"] == "failed" and "momentum" in row["reason"]
        else:
            assert row["status"] == "complete" and float(row["val_accuracy"]) > 0


def test_kill_9_then_the_same_command_continues_on_ray(nnlab_command, ray_address, tmp_path):
    spec = {**GRID, "base": {"preset": "logreg", "epochs": 10, "limit": 3000}}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    command = [nnlab_command, "sweep", "spec.yaml", "--out", "s", "--executor", "ray", "--address", ray_address]
    process = subprocess.Popen(command, cwd=tmp_path, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    history = tmp_path / "s" / "runs" / "trial-0000" / "history.json"
    deadline = time.monotonic() + 300
    while not history.exists():  # the first trial finished an epoch
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # the driver: Ray stops its trial's worker
    process.wait()
    done = subprocess.run(command, cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = table(tmp_path / "s" / "results.csv")
    assert [r["trial"] for r in rows] == ["0", "1"] and {r["status"] for r in rows} == {"complete"}
    first = json.loads(history.read_text())
    assert len(first["loss"]) == 10  # continued in the same folder, not restarted elsewhere
    assert sorted(p.name for p in (tmp_path / "s" / "runs").iterdir()) == ["trial-0000", "trial-0001"]


def test_ray_refuses_a_local_sweeps_folder_and_spec_mistakes_before_joining(nnlab_command, tmp_path):
    bad = {**GRID, "space": {"optimizer.learnin_rate": {"grid": [0.1]}}}
    result = sweep(nnlab_command, tmp_path, bad, "--out", "x", "--executor", "ray", "--address", "127.0.0.1:1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "space.optimizer.learnin_rate" in result.stderr and not (tmp_path / "x").exists()
    result = sweep(nnlab_command, tmp_path, GRID, "--out", "x", "--executor", "dask")
    assert result.returncode == 2 and "--executor must be local or ray" in result.stderr


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # after or before the session's Ray, never beside it
def test_a_two_node_cluster_on_this_machine_runs_the_grid(nnlab_command, tmp_path, monkeypatch, local_rows):
    """``ray start --head --num-cpus 1`` + ``ray start --address ... --num-cpus 1``: trials spread over both."""
    pytest.importorskip("ray")
    from ray_nodes import free_port, start_node, stop_node, token_environment, wait_for_cpus

    for key, value in token_environment().items():  # the nodes and the sweep share the cluster's token
        monkeypatch.setenv(key, value)
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = start_node(1, head_port=port, log=tmp_path / "head.log")
    worker = None
    try:
        worker = start_node(1, address=address, log=tmp_path / "worker.log")
        wait_for_cpus(address, 2)
        result = sweep(nnlab_command, tmp_path, GRID, "--out", "two", "--executor", "ray", "--address", address,
                       "--jobs", "2")
        assert result.returncode == 0, result.stderr
        assert "2 CPUs" in result.stdout
    finally:
        for node in (worker, head):
            if node is not None:
                stop_node(node)
    rows_ray = table(tmp_path / "two" / "results.csv")
    assert [r["status"] for r in rows_ray] == ["complete", "complete"]
    for a, b in zip(local_rows, rows_ray):
        assert float(a["val_accuracy"]) == pytest.approx(float(b["val_accuracy"]), abs=1e-5)


# One clearly worse configuration (SGD at a learning rate that barely moves the weights) among two good ones.
PRUNED = {"task": "fashion", "base": {"preset": "logreg", "epochs": 4, "limit": 300, "batch_size": 50},
          "space": {"optimizer.name": {"grid": ["sgd"]}, "optimizer.learning_rate": {"grid": [0.1, 0.05, 1e-6]}},
          "metric": "val_accuracy"}


@pytest.mark.parametrize("pruner", ["median", "asha"])
def test_a_pruner_on_ray_stops_the_clearly_worse_trial_and_records_it_pruned(nnlab_command, ray_address, tmp_path,
                                                                            pruner):
    spec = {**PRUNED, "pruner": pruner}
    result = sweep(nnlab_command, tmp_path, spec, "--out", "s", "--executor", "ray", "--address", ray_address)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    rows = table(tmp_path / "s" / "results.csv")
    assert [r["trial"] for r in rows] == ["0", "1", "2"]
    worst = rows[2]
    assert worst["optimizer.learning_rate"] == "1e-06" and worst["status"] == "pruned", rows
    assert len(json.loads((tmp_path / worst["runs"] / "history.json").read_text())["loss"]) < spec["base"]["epochs"]
    assert rows[0]["status"] == "complete"  # the first trial has nothing to be compared with
    for row in rows:  # every trial a readable run folder; Ray stops a pruned one mid-fit, as a Ctrl-C would
        run = tmp_path / row["runs"]
        config = json.loads((run / "config.json").read_text())
        history = json.loads((run / "history.json").read_text())
        epochs = len(history["val_accuracy"])
        assert float(row["val_accuracy"]) == pytest.approx(max(history["val_accuracy"]))
        if row["status"] == "pruned":
            # (ASHA's last rung is the last epoch: a trial can be cut off there, worse than the best so far)
            assert epochs <= config["epochs"] and row["reason"].startswith("pruned after epoch")
            assert (run / "resume-state.npz").exists() and row["test_accuracy"] == ""
        else:
            assert epochs == config["epochs"] and (run / "metrics.json").exists()
            assert float(row["test_accuracy"]) > 0
    listed = subprocess.run([nnlab_command, "runs", "list", "--runs-dir", "s/runs"], cwd=tmp_path, env=env(),
                            capture_output=True, text=True)
    assert listed.returncode == 0 and all(f"trial-000{n}" in listed.stdout for n in range(3)), listed.stderr
    status = subprocess.run([nnlab_command, "sweep", "--status", "s"], cwd=tmp_path, env=env(), capture_output=True,
                            text=True)
    assert status.returncode == 0 and "pruned" in status.stdout, status.stdout
