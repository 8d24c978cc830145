#!/usr/bin/env python
"""Print the project's module import graph (module- and function-level imports) and its cycles.

  python scripts/import_graph.py            # edges, then 'cycles: none' or each cycle; exit 1 on a cycle
  python scripts/import_graph.py --dot      # Graphviz dot
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "converters")


def modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _resolve(name: str, known: dict) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {m: set() for m in known}
    for mod, path in known.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = mod if is_pkg else mod.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        pkg = pkg.rpartition(".")[0]
                    base = f"{pkg}.{base}".strip(".")
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for t in targets:
                dep = _resolve(t, known)
                # a package's own submodules are not a dependency back on the package
                if dep and dep != mod and not (is_pkg and dep.startswith(mod + ".")):
                    edges[mod].add(dep)
    # `import pipeline.x.y` also imports the packages above it; those __init__ files are
    # entry points that re-export, not part of the data flow: keep only real modules' edges.
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="module import graph of pipeline/ and converters/")
    ap.add_argument("--dot", action="store_true", help="print Graphviz dot instead of edges")
    args = ap.parse_args(argv)
    edges = graph()
    if args.dot:
        print("digraph imports {")
        for a, deps in sorted(edges.items()):
            for b in sorted(deps):
                print(f'  "{a}" -> "{b}";')
        print("}")
    else:
        for a, deps in sorted(edges.items()):
            print(f"{a} -> {', '.join(sorted(deps)) or '-'}")
    found = cycles(edges)
    print("cycles: " + ("none" if not found else "; ".join(" <-> ".join(c) for c in found)),
          file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
