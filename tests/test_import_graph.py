"""The product's import graph: no module imports itself back through others, whether the import sits at
the top of a file or inside a function (a lazy import still ties two modules together)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[1] / "packages"
ROOTS = ("siamcore", "dataprep", "trainer", "tracker")


def product_modules() -> dict[str, Path]:
    """Every module of the four product packages, by dotted name (a package by its ``__init__``)."""
    modules = {}
    for root in ROOTS:
        src = PACKAGES / root / "src"
        for path in sorted((src / root).rglob("*.py")):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The product modules that ``path`` (module ``name``) imports anywhere in its body; ``from a import b``
    counts ``a.b`` when it is a module, else ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def product_graph() -> dict[str, set[str]]:
    modules = product_modules()
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def test_the_walker_sees_lazy_imports_and_finds_a_circle():
    graph = product_graph()
    assert {"siamcore.crop", "dataprep.malloc"} <= graph["dataprep.task"]  # sanity: it reads real imports
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles_in_the_product():
    assert import_cycles(product_graph()) == []


@pytest.mark.parametrize("low, high", [("siamcore", "dataprep"), ("siamcore", "trainer"), ("siamcore", "tracker"),
                                       ("dataprep", "trainer"), ("dataprep", "tracker"), ("tracker", "trainer"),
                                       ("tracker", "dataprep")])
def test_imports_point_one_way(low, high):
    """trainer -> tracker -> siamcore and dataprep -> siamcore: nothing imports a package above it."""
    upward = sorted(f"{name} -> {target}" for name, targets in product_graph().items() if name.split(".")[0] == low
                    for target in targets if target.split(".")[0] == high)
    assert upward == []


def absolute_imports(path: Path) -> set[str]:
    """The absolute module names ``path`` imports anywhere in its body (relative imports left out: they stay
    inside the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
    return found


def test_the_product_never_imports_the_test_kit():
    """testkit sits above the product: it imports the product to write its data, the product never imports it
    (a user's install has no test kit)."""
    assert "dataprep.manifest" in absolute_imports(PACKAGES / "testkit" / "src" / "testkit" / "shards.py")  # sanity
    assert not any(name.split(".")[0] == "testkit" for name in product_modules())
    offenders = sorted(f"{name} -> {target}" for name, path in product_modules().items()
                       for target in absolute_imports(path) if target.split(".")[0] == "testkit")
    assert offenders == []
