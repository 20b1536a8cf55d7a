"""``nnlab tickets ...`` as a user runs it: make-data, predict, evaluate, add-head; mistakes -> one error line."""

import json
import shutil

import numpy as np
import pytest

from nnlab.core.saving import load_model


TICKET = '{"title": "Charged twice for my order", "body": "Please refund asap", "tags": ["billing"]}'


def test_make_data_writes_the_asked_number_of_tickets(run_cli, tmp_path):
    code, out, _ = run_cli("tickets", "make-data", "--n", "30", "--out", "t.jsonl", "--seed", "1")
    assert code == 0 and "wrote 30 synthetic tickets to t.jsonl" in out
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(rows) == 30 and set(rows[0]) == {"title", "body", "tags", "priority", "department", "difficulty"}


def test_predict_one_ticket_from_json(run_cli, ticket_run):
    code, out, _ = run_cli("tickets", "predict", ticket_run, "--json", TICKET)
    assert code == 0
    row = json.loads(out)
    assert 0 <= row["priority"] <= 1 and row["department"] in row["department_probabilities"]
    assert sum(row["department_probabilities"].values()) == pytest.approx(1, abs=1e-5)


def test_predict_a_file_to_csv_and_to_jsonl(run_cli, ticket_run, tickets_csv, tmp_path):
    code, out, err = run_cli("tickets", "predict", ticket_run, tickets_csv, "--out", "out.csv")
    assert code == 0 and "wrote 400 predictions to out.csv" in out
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == ("title,priority,department,department_p_account,department_p_billing,"
                        "department_p_shipping,department_p_technical") and len(lines) == 401
    code, out, _ = run_cli("tickets", "predict", ticket_run, tickets_csv)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 400 and rows[0]["title"] == lines[1].split(",")[0]


def test_evaluate_on_the_runs_test_split_and_on_another_file(run_cli, ticket_run, tickets_csv):
    metrics = json.loads((ticket_run / "metrics.json").read_text())
    code, out, _ = run_cli("tickets", "evaluate", ticket_run)
    assert code == 0 and "(60 tickets)" in " ".join(out.split())  # the title wraps where a long path ends
    assert f"{metrics['test']['department_accuracy']:.4f}" in out and "priority_mae" in out
    code, out, _ = run_cli("tickets", "evaluate", ticket_run, tickets_csv)
    assert code == 0 and "(400 tickets)" in " ".join(out.split())


def test_add_head_keeps_the_frozen_layers_bit_identical(run_cli, ticket_run, tmp_path):
    code, out, err = run_cli("tickets", "add-head", ticket_run, "--name", "difficulty", "--classes", "3",
                             "--labels", "easy,medium,hard", "--epochs", "2", "--verbose", "0",
                             "--run-name", "with-difficulty")
    assert code == 0, err
    new_run = ticket_run.parent / "with-difficulty"
    base, bigger = load_model(ticket_run / "final.keras"), load_model(new_run / "final.keras")
    assert bigger.output_names == ["priority", "department", "difficulty"]
    for name in ("dense", "priority", "department"):
        for before, after in zip(base.get_layer(name).get_weights(), bigger.get_layer(name).get_weights()):
            assert np.array_equal(before, after), name
    metrics = json.loads((new_run / "metrics.json").read_text())
    assert metrics["confusion_matrix"]["difficulty"]["labels"] == ["easy", "medium", "hard"]
    assert json.loads((new_run / "config.json").read_text())["early_stopping"]["monitor"] == "val_difficulty_accuracy"
    code, out, _ = run_cli("tickets", "predict", new_run, "--json", TICKET)
    assert code == 0 and json.loads(out)["difficulty"] in ("easy", "medium", "hard")

    # The extra head is a setting of the run, not a task of its own name ...
    config = json.loads((new_run / "config.json").read_text())
    assert (config["task"], config["head"]) == ("tickets", "difficulty")
    code, evaluated, err = run_cli("tickets", "evaluate", new_run)
    assert code == 0 and "difficulty_accuracy" in evaluated, err
    # ... and a run folder an older nnlab wrote (task "tickets_difficulty") still evaluates and resumes.
    legacy = ticket_run.parent / "with-difficulty-legacy"
    shutil.copytree(new_run, legacy, dirs_exist_ok=True)
    (legacy / "config.json").write_text(json.dumps({**config, "task": "tickets_difficulty"}))
    code, out, err = run_cli("tickets", "evaluate", legacy)
    figures = [line for line in evaluated.splitlines() if "│" in line]  # the table of figures
    assert code == 0 and [line for line in out.splitlines() if "│" in line] == figures, err
    code, _, err = run_cli("tickets", "train", "--resume", legacy)
    assert code == 0 and "finished already" in err


@pytest.mark.parametrize("args, message", [
    (("tickets", "train", "missing.csv"), "ticket file missing.csv does not exist"),
    (("tickets", "train"), "give the ticket file"),
    (("tickets", "train", "t.csv", "--loss-weights", "priority:1"), "--loss-weights must look like"),
    (("tickets", "train", "t.csv", "--loss-weights", "urgency=1"), "--loss-weights: output must be one of"),
    (("tickets", "train", "--resume", "runs/x", "--epochs", "3"), "drop --epochs"),
    (("tickets", "train", "t.csv", "--val-split", "0.9"), "--val-split must be a fraction"),
    (("tickets", "predict", "runs/nope", "--json", TICKET), "no run named|does not exist|has no served.keras"),
    (("tickets", "predict", "RUN", "--json", "{oops"), "--json is not valid JSON"),
    (("tickets", "predict", "RUN"), "give either a ticket file"),
    (("tickets", "predict", "RUN", "--json", TICKET, "--out", "x.txt"), "--out must end in .csv or .jsonl"),
    (("tickets", "add-head", "RUN", "--name", "difficulty", "--classes", "4"), "--classes 4, but the difficulty"),
    (("tickets", "make-data", "--out", "t.txt"), "--out must end in .csv or .jsonl"),
    (("tickets", "make-data", "--n", "0"), "--n must be an integer >= 1"),
])
def test_mistakes_are_one_error_line(run_cli, ticket_run, tickets_csv, tmp_path, args, message):
    import re
    import shutil

    shutil.copy(tickets_csv, tmp_path / "t.csv")
    args = [str(ticket_run) if a == "RUN" else a for a in args]
    code, out, err = run_cli(*args)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err


def test_bad_rows_are_listed_and_nothing_is_trained(run_cli, tmp_path):
    """With --departments fixing the labels, a label outside them is a bad row (else labels come from the file)."""
    (tmp_path / "bad.csv").write_text("title,body,tags,priority,department\na,b,x,1.5,billing\nc,d,y,0.2,sales\n")
    code, _, err = run_cli("tickets", "train", "bad.csv", "--departments", "billing,shipping")
    assert code == 2 and "2 bad rows out of 2" in err
    assert "line 2: priority '1.5' is outside 0..1" in err and "line 3: unknown department 'sales'" in err
    assert not (tmp_path / "runs").exists()


def test_resume_of_a_finished_run_changes_nothing(run_cli, ticket_run):
    before = (ticket_run / "metrics.json").read_text()
    code, _, err = run_cli("tickets", "train", "--resume", ticket_run)
    assert code == 0 and "finished already" in err and (ticket_run / "metrics.json").read_text() == before


def test_train_on_a_semicolon_export_then_predict_and_evaluate_a_json_dump(run_cli, tmp_path):
    """Excel's European CSV (';', BOM, CRLF, its own capitalised columns) trains; the run's --columns then read a
    Zendesk-like .json dump whose keys differ in letter case, for predict and evaluate alike."""
    from nnlab.tickets.synth import generate

    rows = generate(200, seed=5)
    theirs = ("Subject", "Description", "Tags", "Priority", "Group")
    lines = [";".join(theirs)] + [";".join(f'"{value}"' for value in (row["title"], row["body"], ", ".join(row["tags"]),
                                                                        row["priority"], row["department"]))
                                  for row in rows]
    (tmp_path / "export.csv").write_bytes("\r\n".join(lines).encode("utf-8-sig") + b"\r\n")
    dump = {"tickets": [{"SUBJECT": row["title"], "description": row["body"], "tags": row["tags"],
                         "priority": row["priority"], "GROUP": row["department"], "id": i}
                        for i, row in enumerate(rows[:50])], "count": 50, "next_page": None}
    (tmp_path / "dump.json").write_text(json.dumps(dump, indent=2))
    code, out, err = run_cli("tickets", "train", "export.csv", "--preset", "seeds", "--epochs", "1", "--verbose", "0",
                             "--vocabulary-size", "300", "--num-tags", "30", "--name", "semi",
                             "--columns", "title=subject,body=Description,tags=TAGS,priority=Priority,department=group")
    assert code == 0, err
    assert json.loads((tmp_path / "runs/semi/metrics.json").read_text())["data"]["tickets"] == 200
    code, out, err = run_cli("tickets", "predict", "runs/semi", "dump.json", "--out", "triaged.jsonl")
    assert code == 0 and "wrote 50 predictions" in out, err
    predicted = [json.loads(line) for line in (tmp_path / "triaged.jsonl").read_text().splitlines()]
    assert [row["title"] for row in predicted] == [row["title"] for row in rows[:50]]
    code, out, err = run_cli("tickets", "evaluate", "runs/semi", "dump.json")
    assert code == 0 and "(50 tickets)" in " ".join(out.split()), err


def test_a_windows_1252_file_gets_one_note_and_a_json_without_tickets_one_error(run_cli, ticket_run, tmp_path):
    (tmp_path / "legacy.csv").write_bytes("Title;Body;Tags\r\nCafé bill;Charged 5 € twice;billing\r\n".encode("cp1252"))
    code, out, err = run_cli("tickets", "predict", ticket_run, "legacy.csv")
    assert code == 0 and json.loads(out)["title"] == "Café bill"
    (note,) = [line for line in err.splitlines() if line.strip()]
    assert note.startswith("note: legacy.csv is not UTF-8 (byte 0xe9 on line 2); read it as Windows-1252"), err
    (tmp_path / "dump.json").write_text('{"count": 0, "next_page": null}')
    code, out, err = run_cli("tickets", "predict", ticket_run, "dump.json")
    assert code == 2 and err.startswith("error: dump.json: expected a JSON array of ticket objects"), err
    assert len(err.strip().splitlines()) == 1
