"""The README stays true: its two opening commands, its Python imports, its benchmark table."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_setup_and_test_commands_and_ci_runs_the_same():
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert first_block[0].startswith("make run") and first_block[1].startswith("make test")
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_import_in_the_readme_works():
    lines = [line.split("#")[0].strip() for line in README.splitlines()]
    imports = [line for line in lines if re.match(r"(from nnlab[\w.]* import |import nnlab)", line)]
    assert len(imports) >= 5
    exec("\n".join(imports), {})  # an ImportError here means the README names a moved or renamed API


def test_benchmark_table_is_made_from_the_latest_results():
    spec = importlib.util.spec_from_file_location("readme_table", ROOT / "bench" / "readme_table.py")
    readme_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme_table)
    assert readme_table.rewrite(README, readme_table.render()) == README, \
        "run .venv/bin/python bench/readme_table.py after a benchmark"
    assert len(list((ROOT / "bench" / "results").glob("*.json"))) >= 3
