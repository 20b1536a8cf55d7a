"""The README's benchmark table, made from ``bench/results/*.json``.

    .venv/bin/python bench/readme_table.py           # rewrite the table in README.md
    .venv/bin/python bench/readme_table.py --check   # exit 1 if README.md's table is not the latest

The table sits between ``<!-- bench:start -->`` and ``<!-- bench:end -->``; the
test suite checks that it matches the result files.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def render(results_dir=ROOT / "bench" / "results"):
    rows = ["| benchmark | claim | last measured | met | when |", "| --- | --- | --- | --- | --- |"]
    for path in sorted(Path(results_dir).glob("*.json")):
        r = json.loads(path.read_text())
        when = f"{r['date'][:10]}, {r.get('commit') or '?'}"
        rows.append(f"| `{r['script']}` | {r['claim']} | {r['summary']} | {'yes' if r['met'] else 'no'} | {when} |")
    return "\n".join(rows)


def rewrite(readme_text, table):
    before, start, rest = readme_text.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"README.md lacks the markers {START} ... {END}")
    return f"{before}{START}\n{table}\n{END}{after}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the table is stale")
    args = parser.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = rewrite(text, render())
    if args.check:
        if new != text:
            print("README.md's benchmark table is not the latest; run .venv/bin/python bench/readme_table.py")
            sys.exit(1)
        return
    readme.write_text(new)
    print("README.md benchmark table updated")


if __name__ == "__main__":
    main()
