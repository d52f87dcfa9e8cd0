"""Sphinx extension of the course book (loaded through ``_config.yml``: ``sphinx.local_extensions``).

1. **A rebuild reflects the current code.** Jupyter Book's ``execute_notebooks: cache`` keys a
   notebook's outputs on the notebook's own code, so after an edit to ``course_lib`` a rebuild would
   serve figures and numbers computed by the old library. Before anything is read, this extension
   computes for every notebook a fingerprint of what its outputs depend on besides its own code:
   the ``course_lib`` modules it imports (followed transitively, package ``__init__`` files
   included, plus any data files shipped inside ``course_lib``), ``requirements.txt``,
   ``pyproject.toml`` and the ``COURSE_*`` environment variables that change what a chapter
   computes (the compute budget above all). When a notebook's fingerprint differs from the one
   stored beside the jupyter-cache (``course_fingerprints.json``), its cached outputs are dropped
   and Sphinx re-reads it, so it is executed again.
2. **Executed notebooks to download.** Every executed notebook (with its outputs) is copied into
   the HTML output under ``_executed/`` and offered in the page's download menu, next to the
   committed source notebook (which carries no outputs).
3. **A page without console errors.** Two fixes for what a browser reports on every page of a
   Jupyter Book 1.x site: sphinx-thebe's inline configuration script is included twice (``const
   THEBE_JS_URL`` declared twice: a SyntaxError), so duplicate scripts are dropped; and the theme's
   light/dark switch is given its default mode (``auto``), without which pydata-sphinx-theme logs
   "Got invalid theme mode" on a reader's first visit.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.matching import Matcher

logger = logging.getLogger(__name__)

PACKAGE = "course_lib"
STATE_FILE = "course_fingerprints.json"
#: Files at the course root that every notebook's outputs depend on.
ROOT_DEPENDENCIES = ("requirements.txt", "pyproject.toml")
#: Environment variables that change what a chapter computes.
ENV_DEPENDENCIES = ("COURSE_BUDGET", "COURSE_OFFLINE", "COURSE_DEVICE", "COURSE_DATA_DIR")
EXECUTED_DIR = "_executed"


# --------------------------------------------------------------------------------------------
# What a notebook depends on


def package_modules(root: Path, package: str = PACKAGE) -> Dict[str, Path]:
    """Dotted module name -> source file, for every module of ``package`` under ``root``."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_names(source: str, module: str = "", is_package: bool = False) -> Set[str]:
    """Every dotted name ``source`` imports (``from a import b`` gives ``a`` and ``a.b``), with
    relative imports resolved against ``module``. Raises SyntaxError for code it cannot parse."""
    names: Set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = module.split(".") if is_package else module.split(".")[:-1]
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _with_parents(name: str) -> List[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def module_closure(names: Iterable[str], modules: Dict[str, Path]) -> Set[str]:
    """The modules of the package that importing ``names`` executes (parents and imports of imports)."""
    todo = [parent for name in names for parent in _with_parents(name) if parent in modules]
    seen: Set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = modules[name]
        try:
            found = imported_names(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
        except SyntaxError:
            found = set(modules)  # cannot tell: depend on everything
        todo += [parent for n in found for parent in _with_parents(n) if parent in modules]
    return seen


def notebook_code(path: Path) -> str:
    """The notebook's code cells, IPython magics and shell escapes left out."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines += [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        lines.append("")
    return "\n".join(lines)


def notebook_dependencies(path: Path, root: Path) -> List[Path]:
    """The files besides the notebook itself whose change must re-execute it."""
    modules = package_modules(root)
    try:
        names = imported_names(notebook_code(path))
        used = module_closure(names, modules)
    except SyntaxError:
        used = set(modules)  # cannot tell: depend on everything
    files = {modules[name] for name in used}
    if used and (root / PACKAGE).is_dir():
        # Data shipped inside the package (weights, tables) can be read by any module.
        files |= {p for p in (root / PACKAGE).rglob("*")
                  if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    files |= {root / name for name in ROOT_DEPENDENCIES if (root / name).is_file()}
    return sorted(files)


def notebook_fingerprint(path: Path, root: Path, environ: Optional[Dict[str, str]] = None) -> str:
    """A hash of everything a notebook's outputs depend on besides its own code."""
    environ = os.environ if environ is None else environ
    digest = hashlib.sha256()
    for dep in notebook_dependencies(path, root):
        digest.update(dep.relative_to(root).as_posix().encode() + b"\0" + dep.read_bytes() + b"\0")
    for name in ENV_DEPENDENCIES:
        digest.update(f"{name}={environ.get(name, '')}\0".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Sphinx hooks


def _book_notebooks(app: Sphinx) -> Dict[str, Path]:
    """docname -> path of every notebook Sphinx may read."""
    root = Path(app.srcdir)
    excluded = Matcher(list(app.config.exclude_patterns) + ["_build/**", ".venv/**", "**/.ipynb_checkpoints/**"])
    found = {}
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root).as_posix()
        if ".venv" in path.parts or "_build" in path.parts or excluded(rel):
            continue
        found[rel[: -len(".ipynb")]] = path
    return found


def invalidate_stale_executions(app: Sphinx) -> None:
    """Drop the cached outputs of every notebook whose dependencies changed since it was cached."""
    app.course_stale_docs = set()  # type: ignore[attr-defined]
    config = getattr(app.env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache":
        return
    from jupyter_cache import get_cache

    cache_path = Path(config.execution_cache_path)
    state_path = cache_path / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    root = Path(app.srcdir)
    cache = get_cache(str(cache_path))
    records: Dict[str, List[int]] = {}
    for record in cache.list_cache_records():
        records.setdefault(str(Path(record.uri).resolve()), []).append(record.pk)
    new_state = {}
    for docname, path in _book_notebooks(app).items():
        fingerprint = notebook_fingerprint(path, root)
        new_state[docname] = fingerprint
        if state.get(docname) == fingerprint:
            continue
        stale = records.get(str(path.resolve()), [])
        for pk in stale:
            cache.remove_cache(pk)
        if stale:
            logger.info(f"[course_book] {docname}: library, requirements or budget changed; "
                        f"dropping {len(stale)} cached execution(s), the notebook runs again")
        app.course_stale_docs.add(docname)  # type: ignore[attr-defined]
    cache_path.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps({**state, **new_state}, indent=1, sort_keys=True))


def outdated_docs(app: Sphinx, env, added, changed, removed) -> List[str]:
    """Have Sphinx re-read (and so re-execute) the notebooks whose cached outputs were dropped."""
    stale = getattr(app, "course_stale_docs", set())
    return sorted(d for d in stale if d in env.found_docs and d not in added and d not in changed)


def add_executed_notebook(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Copy the page's executed notebook into the HTML output and offer it in the download menu."""
    config = getattr(app.env, "mystnb_config", None)
    if config is None:
        return
    executed = Path(config.output_folder) / f"{pagename}.ipynb"
    if not executed.exists():
        return
    target = Path(app.outdir) / EXECUTED_DIR / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executed, target)
    button = {
        "type": "link",
        "url": f"{context['pathto'](EXECUTED_DIR, 1)}/{pagename}.ipynb",
        "text": ".ipynb (with outputs)",
        "icon": "fas fa-play",
        "tooltip": "Download the executed notebook, with the outputs of this build",
        "label": "download-executed-notebook-button",
    }
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            for entry in group["buttons"]:
                if entry.get("label") in ("download-notebook-button", "download-source-button") \
                        and entry.get("text") == ".ipynb":
                    entry["text"] = ".ipynb (source, no outputs)"
            group["buttons"].insert(0, button)
            break


def fix_page_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not context.get("default_mode"):  # pydata-sphinx-theme's <body data-default-mode>
        context["default_mode"] = "auto"
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        body = attributes.get("body")
        key = ("body", str(body)) if body else ("file", str(getattr(script, "filename", script)))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx):
    app.connect("html-page-context", fix_page_scripts, priority=900)
    # After myst-nb's own builder-inited handler, which creates ``env.mystnb_config``.
    app.connect("builder-inited", invalidate_stale_executions, priority=900)
    app.connect("env-get-outdated", outdated_docs)
    # After sphinx-book-theme adds its header buttons (priority 501).
    app.connect("html-page-context", add_executed_notebook, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
