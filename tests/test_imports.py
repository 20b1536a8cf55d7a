"""No import cycles among nnlab's modules, and every module imports on its own.

The graph is read from the source with the standard library's ``ast``: an edge A -> B for
every ``import B`` / ``from B import x`` in A, at the top of the file or inside a function
(a function-level import still ties the two modules together; it only delays the failure).
``from package import name`` counts as an import of ``package.name`` when that is a module.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnlab"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(module, path):
    """The nnlab modules that ``module`` (its file ``path``) imports anywhere in its body."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names = [source] + [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in MODULES)
    found.discard(module)
    return found


def import_graph():
    return {module: imported(module, path) for module, path in MODULES.items()}


def find_cycle(graph):
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    state = {}  # module -> "open" while on the current path, "done" after

    def visit(node, path):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target, path)
                if cycle:
                    return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_none_where_there_is_none():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    # nnlab.core.saving imports nnlab.core.task inside functions only
    assert "nnlab.core.task" in graph["nnlab.core.saving"] or "nnlab.core.registry" in graph["nnlab.core.saving"]
    assert "nnlab.core.task" in graph["nnlab.fashion.task"]


def test_no_import_cycle_among_nnlab_modules():
    graph = import_graph()
    # Package __init__ files are imported by every submodule anyway; a package importing its own
    # submodules is Python's usual layout, so edges into a package are left out.
    graph = {module: {target for target in targets if not target.startswith(module + ".")
                      and MODULES[target].name != "__init__.py"}
             for module, targets in graph.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", ["nnlab.core.config", "nnlab.core.task", "nnlab.core.registry",
                                    "nnlab.tickets.report", "nnlab.tickets.task", "nnlab.cli.app"])
def test_each_module_imports_first_in_a_fresh_interpreter(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
