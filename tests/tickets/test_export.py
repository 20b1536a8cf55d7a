"""A helpdesk's own export, end to end: its columns, its departments, its priority levels; labels from the data."""

import json
import os
import subprocess
import sys

import pytest

from nnlab.tickets.data import nearest_level
from nnlab.tickets.task import TASK
from tickets.fixtures import EXPORT_COLUMNS, EXPORT_GROUPS, EXPORT_LEVELS, export_file, export_ticket_run

GROUPS = sorted(EXPORT_GROUPS.values())  # learned from the file, sorted
LEVELS = EXPORT_LEVELS.split(",")


@pytest.fixture(scope="module")
def export_run(ticket_root):
    ticket_root.mkdir(exist_ok=True)
    return export_ticket_run(ticket_root)


def test_departments_are_learned_from_the_file_and_kept_with_the_run(export_run):
    metrics = json.loads((export_run / "metrics.json").read_text())
    assert metrics["confusion_matrix"]["department"]["labels"] == GROUPS
    saved = json.loads((export_run / "vectorizer.json").read_text())
    assert saved["labels"]["department"] == GROUPS and saved["priority_levels"] == LEVELS
    assert saved["columns"]["department"] == "Group"
    config = json.loads((export_run / "config.json").read_text())
    assert (config["departments"], config["columns"], config["preset"]) == ("", EXPORT_COLUMNS, "triage")


def test_fixed_departments_order_the_labels_and_refuse_others(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("title,body,tags,priority,department\n" + "".join(
        f"t{i},b{i},x,0.{i},{name}\n" for i, name in enumerate(["Zeta team", "alpha & co", "Mid"] * 4)))
    found = TASK.load_data(TASK.config("seeds", data=str(path), vocabulary_size=50, num_tags=5, val_split=0.2,
                                       test_split=0.2))
    assert found.source.labels["department"] == ["Mid", "Zeta team", "alpha & co"]
    fixed = TASK.load_data(TASK.config("seeds", data=str(path), departments="alpha & co,Mid,Zeta team,Spare",
                                       vocabulary_size=50, num_tags=5, val_split=0.2, test_split=0.2))
    assert fixed.source.labels["department"] == ["alpha & co", "Mid", "Zeta team", "Spare"]
    assert fixed.y_train["department"].shape[1] == 4


def test_predict_takes_the_export_and_names_its_departments_and_levels(run_cli, export_run, ticket_root):
    code, out, err = run_cli("tickets", "predict", export_run, export_file(ticket_root))
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 400 and {row["department"] for row in rows} <= set(GROUPS)
    for row in rows:  # the score, and the level nearest it
        assert row["priority_level"] == nearest_level(row["priority"], LEVELS)
        assert list(row["department_probabilities"]) == GROUPS
    code, out, _ = run_cli("tickets", "predict", export_run, "--json",
                           '{"title": "", "body": "<p>Hi,</p><p>refund &amp; invoice</p>", "tags": "billing, vip"}')
    assert code == 0 and json.loads(out)["priority_level"] in LEVELS


def test_evaluate_reads_the_export_through_the_runs_mapping(run_cli, export_run, ticket_root):
    code, out, err = run_cli("tickets", "evaluate", export_run, export_file(ticket_root))
    assert code == 0, err
    out = " ".join(out.split())  # as read, whatever the terminal's width
    assert "(400 tickets)" in out and "departments: " + ", ".join(GROUPS) in out
    assert "priority levels: Low, Normal, High, Urgent" in out and "priority_level_accuracy" in out


@pytest.mark.parametrize("args, message", [
    (("tickets", "predict", "EXPORT_RUN", "OWN_CSV"),
     # the file's "tags" is the export's "Tags": names match in any letter case
     r"lacks the columns 'Subject' \(title in --columns\), 'Description' \(body in --columns\); it has title, "
     r"body, tags, priority, department, difficulty \(read with delimiter ','\)"),
    (("tickets", "train", "EXPORT_CSV", "--columns", "title=Subject,body"), "--columns must look like"),
    (("tickets", "train", "EXPORT_CSV", "--columns", EXPORT_COLUMNS.replace("Group", "Team")),
     r"lacks the column 'Team' \(department in --columns\); it has Ticket ID, Subject"),
    (("tickets", "train", "EXPORT_CSV", "--columns", EXPORT_COLUMNS, "--priority-levels", "Low"),
     "--priority-levels must be two or more"),
    (("tickets", "train", "EXPORT_CSV", "--columns", EXPORT_COLUMNS, "--priority-levels", "Low,High"),
     "bad rows out of 400.*unknown priority 'Normal' \\(levels: Low, High\\)"),
    (("tickets", "train", "EXPORT_CSV", "--columns", EXPORT_COLUMNS),
     "priority 'Normal' is not a number .*--priority-levels"),
])
def test_export_mistakes_are_one_error_line(run_cli, export_run, ticket_root, tickets_csv, args, message):
    import re

    names = {"EXPORT_RUN": export_run, "OWN_CSV": tickets_csv, "EXPORT_CSV": export_file(ticket_root)}
    code, out, err = run_cli(*[names.get(a, a) for a in args])
    assert code == 2 and err.startswith("error:"), err
    assert re.search(message, err, re.DOTALL), err
    assert "bad rows out of" in err or len(err.strip().splitlines()) == 1, err  # bad rows: listed, one a line


def test_no_tensorflow_start_up_lines_at_the_command_line(ticket_root, tickets_csv, tmp_path):
    """`nnlab tickets train` and `predict` as a user runs them: TensorFlow's C++ start-up notes stay out.

    On the default JAX backend TensorFlow is imported after JAX here; `predict` also runs with
    KERAS_BACKEND=tensorflow, where TensorFlow is imported first and prints "oneDNN custom
    operations are on ..." unless the command line quietened it before (this test fails then).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TF_CPP", "KERAS_BACKEND"))}
    command = [sys.executable, "-c", "import sys; from nnlab.cli import main; sys.exit(main())"]

    def run(*args, **extra_env):
        done = subprocess.run([*command, *map(str, args)], cwd=tmp_path, env={**env, **extra_env},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    outputs = run("tickets", "train", tickets_csv, "--limit", "100", "--epochs", "1", "--vocabulary-size", "100",
                  "--num-tags", "10", "--verbose", "0", "--name", "quiet")
    outputs += run("tickets", "predict", tmp_path / "runs" / "quiet", "--json", '{"title": "a", "body": "b"}')
    assert outputs.count("department_probabilities") == 1
    for line in ("oneDNN custom operations", "absl::InitializeLog", "cpu_feature_guard", "tensorflow/core"):
        assert line not in outputs
    first = run("tickets", "predict", tmp_path / "runs" / "quiet", "--json", '{"title": "a", "body": "b"}',
                KERAS_BACKEND="tensorflow")
    assert "department_probabilities" in first
    assert "oneDNN custom operations" not in first and "cpu_feature_guard" not in first
