#!/usr/bin/env python3
"""The layout rules of the origin, checked: `python3 scripts/ci/check-layout.py [--report]`.

1. No import cycle between the origin's top-level modules (`origin/src/<name>` as a file or
   folder): the layers only point down, common -> infrastructure -> domain -> HTTP -> server.
2. No Rust module over LIMIT lines of non-test code, anywhere in the workspace's crates
   (a file's `#[cfg(test)] mod tests { ... }` block and blank or comment-only lines are not
   counted).
3. Functions over FN_LIMIT lines are listed (a note, not a failure: a few are tables).

Exit status 1 with the offenders listed when a rule is broken; `--report` also prints the
module graph and the longest files.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRATES = ["origin/src", "common/src", "edge/src", "testkit/src"]
LIMIT = 550
FN_LIMIT = 80


def rust_files(base):
    for dirpath, _, names in os.walk(os.path.join(ROOT, base)):
        for name in sorted(names):
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


STRING_RE = re.compile(r'r#*"(?:.|\n)*?"#*|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])\'')


def strip_strings(text):
    """Text with string and char literals emptied, so braces inside them are not counted."""
    return STRING_RE.sub('""', text)


def strip_tests(lines):
    """The lines of a file without its `#[cfg(test)]` items (found by brace depth)."""
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "#[cfg(test)]":
            j, depth, opened = i + 1, 0, False
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                opened = opened or "{" in lines[j]
                if opened and depth <= 0:
                    break
                if not opened and lines[j].rstrip().endswith(";"):
                    break
                j += 1
            i = j + 1
            continue
        out.append(lines[i])
        i += 1
    return out


def code_lines(lines):
    return [l for l in lines if l.strip() and not l.strip().startswith("//")]


FN_RE = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")


def long_functions(lines):
    found = []
    for i, line in enumerate(lines):
        m = FN_RE.match(line)
        if not m:
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            depth += lines[j].count("{") - lines[j].count("}")
            opened = opened or "{" in lines[j]
            if opened and depth <= 0:
                break
            if not opened and lines[j].rstrip().endswith(";"):
                break
            j += 1
        length = len(code_lines(lines[i : j + 1]))
        if length > FN_LIMIT:
            found.append((m.group(6), i + 1, length))
    return found


def top_module(path):
    rel = os.path.relpath(path, os.path.join(ROOT, "origin/src"))
    return rel.split(os.sep)[0].removesuffix(".rs")


USE_RE = re.compile(r"\bcrate::(\w+)")


def use_groups(text):
    """The insides of every `crate::{ ... }` group, nested braces included."""
    for m in re.finditer(r"\bcrate::\{", text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        yield text[m.end() : j - 1]


def top_level_names(group):
    """The first path segment of each item of a `use` group (`a::{b, c}, d` -> a, d)."""
    names, depth, start = [], 0, True
    for token in re.findall(r"\w+|[{},]", group):
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif token == "," and depth == 0:
            start = True
        elif start and depth == 0:
            names.append(token)
            start = False
    return names


def origin_graph():
    graph = {}
    for path in rust_files("origin/src"):
        mod = top_module(path)
        if mod in ("lib", "main"):
            continue
        with open(path, encoding="utf-8") as f:
            text = "\n".join(strip_tests(strip_strings(f.read()).splitlines()))
        deps = set(USE_RE.findall(text))
        for group in use_groups(text):
            deps.update(top_level_names(group))
        deps.discard(mod)
        graph.setdefault(mod, set()).update(d for d in deps if d not in ("self", "super"))
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
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
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    report = "--report" in sys.argv
    failed = False
    sizes, long_fns = [], []
    for base in CRATES:
        for path in rust_files(base):
            rel = os.path.relpath(path, ROOT)
            if rel.endswith("tests.rs") or "/tests/" in rel:
                continue
            with open(path, encoding="utf-8") as f:
                lines = strip_tests(strip_strings(f.read()).splitlines())
            sizes.append((len(code_lines(lines)), rel))
            long_fns += [(n, rel, line, length) for n, line, length in long_functions(lines)]
    sizes.sort(reverse=True)
    over = [(n, p) for n, p in sizes if n > LIMIT]
    for n, p in over:
        print(f"module over {LIMIT} lines of non-test code: {p} ({n})")
    for name, rel, line, length in sorted(long_fns, key=lambda x: -x[3]):
        print(f"note: function over {FN_LIMIT} lines: {rel}:{line} fn {name} ({length})")
    graph = origin_graph()
    knots = cycles(graph)
    for comp in knots:
        print("import cycle between origin modules: " + " <-> ".join(comp))
    failed = bool(over or knots)
    if report:
        print("\norigin top-level modules and what they import:")
        for mod in sorted(graph):
            print(f"  {mod:14} -> {', '.join(sorted(d for d in graph[mod] if d in graph))}")
        print("\nlongest modules (non-test code lines):")
        for n, p in sizes[:15]:
            print(f"  {n:5} {p}")
    if failed:
        sys.exit(1)
    print(f"layout: no import cycles, no module over {LIMIT} lines of non-test code")


if __name__ == "__main__":
    main()
