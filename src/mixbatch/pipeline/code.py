"""A stage's own code: the mixbatch modules its stage module imports, transitively.

Found by reading the import statements (every one, also those inside functions) of
src/mixbatch files, so the list follows the code without being written down. It is a
dependency of the stage in both front doors: DVC hashes the files, Snakemake gets their
sha256 as a rule param. Only .py sources count (no __pycache__, no numba cache).

Left out on purpose: mixbatch/cli.py (argument dispatch and error printing; it shapes
no output) and the params schema (params.yaml spells out every key, so the values a
stage runs with are in params.yaml, which both front doors compare).
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]   # src/mixbatch
SRC_ROOT = PACKAGE_ROOT.parent                      # src
NOT_A_DEPENDENCY = {"mixbatch.cli"}


def module_file(module: str) -> Path | None:
    """The source file of a mixbatch module (package __init__ or module.py), if it exists."""
    base = SRC_ROOT.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names of the mixbatch modules (and their parent packages) that `path` imports."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # `from pkg import name`: name may be a submodule or an attribute
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "mixbatch" or name.startswith("mixbatch."):
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {name for name in found if module_file(name) is not None}


@functools.lru_cache(maxsize=None)
def closure(module: str) -> tuple[str, ...]:
    """`module` and every mixbatch module it imports, transitively, sorted."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or name in NOT_A_DEPENDENCY:
            continue
        seen.add(name)
        path = module_file(name)
        if path is not None:
            todo.extend(_imports(path, name) - seen)
    return tuple(sorted(seen - NOT_A_DEPENDENCY))


def code_files(module: str, root: Path) -> list[str]:
    """Repository-relative source files of `module`'s closure (root: the repository)."""
    return sorted(str(module_file(m).relative_to(root)) for m in closure(module))


def file_digests(files: list[str], root: Path) -> dict[str, str]:
    """{file: sha256 of its bytes}: what Snakemake compares to rerun a rule after a code edit."""
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in files}
