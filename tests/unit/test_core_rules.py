"""What import-linter cannot see in the core: wall-clock reads, broad excepts and floats."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "src" / "trader_core"

# (file relative to trader_core, line text fragment): each entry says why it is allowed.
ALLOWED = {
    # The float guard itself: the one place that names float, to refuse it.
    ("model/numbers.py", "isinstance(value, float)"),
}

_CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}


def _findings(path: Path, root: Path = CORE) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        problem = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (name, node.func.attr) in _CLOCK_CALLS:
                problem = "reads the wall clock (use the Clock port)"
        elif isinstance(node, ast.ExceptHandler):
            caught = node.type
            names = [caught] if not isinstance(caught, ast.Tuple) else list(caught.elts)
            if caught is None or any(isinstance(n, ast.Name) and n.id in ("Exception", "BaseException")
                                     for n in names):
                problem = "broad except (only the orchestrator's top level may have one)"
        elif isinstance(node, ast.Name) and node.id == "float":
            problem = "uses float (money and quantities are Decimal)"
        elif isinstance(node, ast.Constant) and isinstance(node.value, float):
            problem = "float literal"
        if problem is None:
            continue
        text = lines[node.lineno - 1]
        relative = path.relative_to(root).as_posix()
        if any(relative == file and fragment in text for file, fragment in ALLOWED):
            continue
        found.append(f"{relative}:{node.lineno}: {problem}: {text.strip()}")
    return found


def test_the_core_reads_no_clock_catches_nothing_broadly_and_holds_no_float() -> None:
    findings = [f for path in sorted(CORE.rglob("*.py")) for f in _findings(path)]
    assert findings == []


def test_the_checker_catches_each_kind_of_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from datetime import datetime\n"
        "def f():\n"
        "    try:\n"
        "        return datetime.now(), float('1'), 0.5\n"
        "    except Exception:\n"
        "        pass\n",
        encoding="utf-8",
    )
    kinds = {line.split(": ")[1] for line in _findings(bad, root=tmp_path)}
    assert kinds == {
        "reads the wall clock (use the Clock port)", "uses float (money and quantities are Decimal)",
        "float literal", "broad except (only the orchestrator's top level may have one)",
    }
