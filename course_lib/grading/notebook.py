"""Which notebook the grader runs for a student: the instructor's cells around the student's answers.

A submission is read leniently (any nbformat version nbformat can convert, unknown metadata, ids or
``schema_version`` ignored) and never trusted for anything but the *source* of its answer cells:
every cell that carries an nbgrader ``grade_id`` in the instructor's notebook (setup, instructions,
visible and hidden tests) comes from the instructor's notebook, in the instructor's order; a
solution cell takes its source from the first student cell with the same ``grade_id`` (or the
release stub when the student deleted it). Cells the student added (no ``grade_id`` the instructor
knows) are kept, without nbgrader metadata, after the instructor cell they followed. So deleted,
edited, moved or duplicated test cells change nothing, and a notebook nbformat cannot read is
reported instead of aborting the run.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import nbformat
from nbformat import NotebookNode

MALFORMED = "malformed notebook"
MISSING = "missing notebook"  # no notebook under the released name, and not exactly one other
RENAMED = "notebook renamed"  # graded the single notebook found under another name
RESTORED = "test cells restored"  # a locked cell was deleted or edited, or a cell duplicated
CONVERTED = "notebook converted"  # another nbformat version, converted to 4


class MalformedNotebook(ValueError):
    """The submission is not a notebook the grader can read; the message says why."""


@dataclass
class Built:
    notebook: NotebookNode
    flags: List[str] = field(default_factory=list)


def grade_id(cell: dict) -> Optional[str]:
    nbgrader = (cell.get("metadata") or {}).get("nbgrader")
    return nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None


def read_submission(data: bytes) -> tuple[NotebookNode, List[str]]:
    """Parse a submitted notebook of any version nbformat knows; raise :class:`MalformedNotebook`."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedNotebook(f"not valid JSON ({error})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int):
        raise MalformedNotebook("no 'nbformat' version number at the top level")
    flags = [] if raw["nbformat"] == 4 else [CONVERTED]
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many types for many ways of being broken
        raise MalformedNotebook(f"nbformat cannot read it ({type(error).__name__}: {error})") from None
    if not isinstance(nb.get("cells"), list):
        raise MalformedNotebook("it has no list of cells")
    return nb, flags


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


def build(instructor: NotebookNode, release: NotebookNode, submission: NotebookNode) -> Built:
    """The notebook to run: ``instructor``'s locked and test cells, the ``submission``'s answers.

    ``release`` (the student version) supplies the stub of an answer cell the student deleted.
    """
    flags: List[str] = []
    known: Dict[str, NotebookNode] = {gid: c for c in instructor.cells if (gid := grade_id(c))}
    released = {gid: _source(c) for c in release.cells if (gid := grade_id(c))}
    answers: Dict[str, str] = {}
    seen: set = set()
    extra: Dict[Optional[str], List[NotebookNode]] = {}  # grade_id of the cell before -> student cells
    anchor: Optional[str] = None
    for cell in submission.cells:
        gid = grade_id(cell)
        if gid in known:
            if gid in seen:
                flags.append(RESTORED)  # a duplicated cell: only the first counts
                continue
            seen.add(gid)
            if known[gid].metadata.nbgrader.get("solution"):
                answers[gid] = _source(cell)
            elif _source(cell) != released.get(gid):
                flags.append(RESTORED)  # an edited locked cell
            anchor = gid
        elif cell.get("cell_type") in ("code", "markdown", "raw"):
            extra.setdefault(anchor, []).append(_student_cell(cell))
    cells = list(extra.get(None, []))
    for cell in instructor.cells:
        gid = grade_id(cell)
        if gid is None:
            continue  # the instructor's free cells are the student's to keep, change or delete
        cell = copy.deepcopy(cell)
        if cell.metadata.nbgrader.get("solution"):
            cell.source = answers.get(gid, released.get(gid, ""))
        elif gid not in seen:
            flags.append(RESTORED)  # a deleted locked cell
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        cells += extra.get(gid, [])
    notebook = copy.deepcopy(instructor)
    notebook.cells = cells
    return Built(notebook, sorted(set(flags)))


def _student_cell(cell: dict) -> NotebookNode:
    kind = cell.get("cell_type")
    if kind == "code":
        return nbformat.v4.new_code_cell(_source(cell))
    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(_source(cell))
    return nbformat.v4.new_raw_cell(_source(cell))
