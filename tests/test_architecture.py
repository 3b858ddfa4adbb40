"""The shape of the code: modules import each other without cycles, and nothing hides an
import inside a function. Read from the source (no built site needed)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "forms_service"
# Imports inside a function that are there on purpose, not to hide a cycle.
DEFERRED = {
    # The app factory gathers the modules that make the app.
    ("forms_service", "create_app"),
    # gunicorn builds the app in each worker process, after the fork.
    ("forms_service.server", "load"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {
        module_name(p): ast.parse(p.read_text(encoding="utf-8"))
        for p in sorted(PACKAGE.rglob("*.py"))
    }


def resolve(current: str, is_package: bool, node: ast.ImportFrom, known: set[str]) -> set[str]:
    """The project modules an ImportFrom names (`from . import a` is module `pkg.a`)."""
    if node.level:
        base = current.split(".")
        base = base if is_package else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join([*base, node.module] if node.module else base)
    else:
        prefix = node.module or ""
    found = set()
    for alias in node.names:
        candidate = f"{prefix}.{alias.name}"
        if candidate in known:
            found.add(candidate)
        elif prefix in known:
            found.add(prefix)
    return found


def import_graph() -> dict[str, set[str]]:
    trees = modules()
    known = set(trees)
    packages = {module_name(p) for p in PACKAGE.rglob("__init__.py")}
    graph = {}
    for name, tree in trees.items():
        edges = set()
        for node in tree.body:  # module level only: what runs at import
            if isinstance(node, ast.ImportFrom):
                edges |= resolve(name, name in packages, node, known)
            elif isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in known}
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    graph = import_graph()
    # The graph is read right: the writes depend on the rules, the views on the writes.
    assert "forms_service.lifecycle" in graph["forms_service.queue"]
    assert "forms_service.staff.session" in graph["forms_service.staff.case"]
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_hides_inside_a_function():
    hidden = []
    for name, tree in modules().items():
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):  # any import: ours, the library's, the standard one
                if (
                    isinstance(node, ast.Import | ast.ImportFrom)
                    and (name, func.name) not in DEFERRED
                ):
                    hidden.append(f"{name}.{func.name}")
    assert hidden == []


def test_the_lifecycle_needs_no_database():
    """The table of moves is pure data: no database, no request, no Flask app."""
    tree = modules()["forms_service.lifecycle"]
    imported = {
        (node.module or "") for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert imported <= {"enum", "flask_babel"}, imported
