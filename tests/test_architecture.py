"""The package's shape: no import cycles, and interfaces that only translate."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "musicrec"
INTERFACES = ("musicrec.cli", "musicrec.api", "musicrec.app")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Module -> the musicrec modules it imports, anywhere in it (type-checking blocks too)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    graph = imports()
    assert "musicrec.recommend" in graph and "musicrec.library" in graph
    # Package __init__ files re-export their modules; an edge into a package from its own
    # modules is not a dependency between modules.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_recommender_does_not_know_the_library() -> None:
    assert "musicrec.library" not in imports()["musicrec.recommend"]


@pytest.mark.parametrize("interface", ["musicrec.api", "musicrec.app"])
def test_interfaces_do_not_import_each_other(interface: str) -> None:
    """The API and the app call the core, never the CLI or each other (the CLI may start
    them: `musicrec serve`)."""
    for name, targets in imports().items():
        if name == interface or name.startswith(interface + "."):
            others = {t for t in targets for other in INTERFACES if other != interface
                      and (t == other or t.startswith(other + "."))}
            assert not others, f"{name} imports {others}"


# --- one feature table (musicrec.schema) ------------------------------------------------------

# Files that may write feature names in a literal list: the table itself, and the synthetic
# catalogue generator, whose per-feature quantile tables are data, not vocabulary.
FEATURE_LISTS_ALLOWED = {"schema.py", "synth/tables.py"}


def _constant(node: ast.AST) -> bool:
    """A value written out in the source (a fact), not computed."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand)
    return isinstance(node, ast.Tuple | ast.List) and all(_constant(e) for e in node.elts)


def feature_lists(tree: ast.AST, names: set[str]) -> list[int]:
    """Lines of literals that list three or more of `names`: tuples, lists and sets of their
    names, and dicts of written-out facts keyed by them. (A dict of computed values, such as
    an analysis result, is not a list of the vocabulary.)"""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        elif isinstance(node, ast.Dict) and all(_constant(v) for v in node.values):
            items = [k.value for k in node.keys if isinstance(k, ast.Constant)]
        else:
            continue
        if len({i for i in items if isinstance(i, str)} & names) >= 3:
            found.append(node.lineno)
    return found


def test_the_feature_table_is_the_only_list_of_features() -> None:
    from musicrec.schema import FEATURES

    names = {f.name for f in FEATURES if f.required}  # the audio features proper
    offenders = {str(path.relative_to(PACKAGE)): lines
                 for path in sorted(PACKAGE.rglob("*.py"))
                 if str(path.relative_to(PACKAGE)) not in FEATURE_LISTS_ALLOWED
                 and (lines := feature_lists(ast.parse(path.read_text()), names))}
    assert not offenders, f"feature lists outside musicrec/schema.py (file: lines): {offenders}"


def test_the_probe_finds_a_written_out_list() -> None:
    names = {"energy", "tempo", "valence", "loudness"}
    assert feature_lists(ast.parse('X = ("energy", "tempo", "valence")'), names) == [1]
    assert feature_lists(ast.parse('X = {"energy": 1, "tempo": 2, "valence": (0, 1)}'),
                         names) == [1]
    assert feature_lists(ast.parse('X = {"energy": f(), "tempo": g(), "valence": h()}'),
                         names) == []


def test_a_feature_name_is_written_in_few_modules() -> None:
    holding = [p.name for p in PACKAGE.rglob("*.py") if '"instrumentalness"' in p.read_text()]
    assert len(holding) <= 3, holding


# --- sizes: one idea per module, functions that read in one sitting ----------------------------

MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 100
# The interfaces only parse, call the core and format: a module of theirs that grows past this
# is doing the core's work.
MAX_INTERFACE_MODULE_LINES = 400


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_over_700_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_is_over_100_lines() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}:{node.name}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_interfaces_stay_thin() -> None:
    thick = {name: n for name, path in ((module_name(p), p) for p in _modules())
             if name.startswith(INTERFACES)
             and (n := len(path.read_text().splitlines())) > MAX_INTERFACE_MODULE_LINES}
    assert not thick, f"interface modules over {MAX_INTERFACE_MODULE_LINES} lines: {thick}"
