"""The class report: what a class got wrong, per graded function, without naming anyone.

Built from the records ``course-grade autograde`` leaves in ``autograded/<student>/<assignment>/``
(``.course-grade-<notebook>.json``), so it covers every student graded so far, whichever run graded
them. For each graded function: how many students earned full marks, lost the points (a hidden test
failed) or were flagged (the outside check failed, tampering, nothing ran, a time-out); the most
frequent failed properties, from the hidden tests' messages; and the distribution of the total
scores. Written as a CSV (long format: ``section, function, item, count, of``) and one HTML page with
a histogram (inline SVG), both ``class-report-<assignment>.*``.

The report counts; it never lists students. A hidden test's message is reduced to the property it
states: the numbers after "yours" (the student's values), lists of numbers, quoted names and the
text of exceptions raised by the student's code are masked, so two students with the same mistake
count once each under the same line and nothing of anyone's code appears.
"""
from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from course_lib.grading.course import course_directory
from course_lib.grading.runner import RECORD, StudentResult
from course_lib.grading.scoring import TAMPERING

FULL, LOST, FLAGGED = "full marks", "lost points", "flagged"
OUTCOMES = (FULL, LOST, FLAGGED)
TOP = 5  # failed properties shown per function
COLUMNS = ["section", "function", "item", "count", "of"]

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?(?![\w])", re.IGNORECASE)
_LIST = re.compile(r"\[[^\[\]]*\]")
_QUOTED = re.compile(r"'[^']*'")


def property_of(function: str, message: str) -> str:
    """The property a hidden test's failure message states, the student's own values masked."""
    text = re.sub(rf"^{re.escape(function)} earns 0 of [\d.]+ points?: ", "", message.strip())
    text = re.sub(r"\b(raised [A-Za-z_][\w.]*):.*$", r"\1", text)  # the exception's text is the student's
    text = re.sub(r"\(([A-Za-z_]\w*(?:Error|Exception|Warning|Interrupt|Exit)): [^)]*\)", r"(\1)", text)
    while _LIST.search(text):
        text = _LIST.sub("#", text)
    head, yours, tail = text.partition("yours")
    if yours:  # what comes after "yours" describes the student's result: mask its values
        tail = _QUOTED.sub("'#'", _NUMBER.sub("#", tail))
    return " ".join((head + yours + tail).split())


@dataclass
class FunctionSummary:
    function: str
    points: float
    outcomes: Counter = field(default_factory=Counter)  # FULL / LOST / FLAGGED -> students
    properties: Counter = field(default_factory=Counter)  # failed property -> students who lost points on it

    @property
    def students(self) -> int:
        return sum(self.outcomes.values())


@dataclass
class ClassSummary:
    assignment: str
    students: int
    max_score: float
    functions: List[FunctionSummary]
    scores: Counter  # total score -> students


def outcome(result: StudentResult, function: str) -> Tuple[str, Optional[str]]:
    """(FULL | LOST | FLAGGED, the failed property or None) of one function of one submission."""
    if result.scores.get(function, 0) >= result.max_scores[function]:
        return FULL, None
    note = result.notes.get(function, "")
    failure = result.failures.get(function)
    if TAMPERING in result.flags or note.startswith("outside check") or (failure is None and note != "hidden tests failed"):
        return FLAGGED, None
    return LOST, property_of(function, failure) if failure else note


def summarize(assignment: str, results: Sequence[StudentResult]) -> ClassSummary:
    functions: Dict[str, FunctionSummary] = {}
    totals: Dict[str, float] = {}
    max_totals: Dict[str, float] = {}
    for r in sorted(results, key=lambda r: (r.student_id, r.notebook)):
        for function, points in r.max_scores.items():
            summary = functions.setdefault(function, FunctionSummary(function, points))
            kind, prop = outcome(r, function)
            summary.outcomes[kind] += 1
            if prop:
                summary.properties[prop] += 1
        totals[r.student_id] = totals.get(r.student_id, 0.0) + r.score
        max_totals[r.student_id] = max_totals.get(r.student_id, 0.0) + r.max_score
    return ClassSummary(assignment, len(totals), max(max_totals.values(), default=0.0), list(functions.values()),
                        Counter(totals.values()))


def load(autograded: Path, assignment: str) -> List[StudentResult]:
    """Every student's last result of ``assignment``, from the records in ``autograded``."""
    results = []
    for path in sorted(autograded.glob(f"*/{assignment}/{RECORD.format(notebook='*')}")):
        try:
            saved = json.loads(path.read_text())["result"]
            results.append(StudentResult(**saved))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a record from an older or foreign grader: skip it
    return results


def rows(summary: ClassSummary) -> List[dict]:
    out = []
    for f in summary.functions:
        out += [{"section": "function", "function": f.function, "item": kind, "count": f.outcomes[kind],
                 "of": f.students} for kind in (FULL, LOST, FLAGGED)]
        out += [{"section": "property", "function": f.function, "item": prop, "count": n, "of": f.students}
                for prop, n in sorted(f.properties.items(), key=lambda item: (-item[1], item[0]))]
    out += [{"section": "score", "function": "", "item": f"{score:g}", "count": n, "of": summary.students}
            for score, n in sorted(summary.scores.items())]
    return out


def lines(summary: ClassSummary, top: int = 2, width: int = 70) -> List[str]:
    """One line per function, for the terminal: ``kl_divergence: 37/200 lost points; 22 "..."``."""
    out = []
    for f in summary.functions:
        common = [f'{n} "{p if len(p) <= width else p[:width - 3] + "..."}"' for p, n in f.properties.most_common(top)]
        out.append(f"{f.function}: {f.outcomes[FULL]}/{f.students} full marks, {f.outcomes[LOST]} lost points, "
                   f"{f.outcomes[FLAGGED]} flagged" + (f"; {', '.join(common)}" if common else ""))
    return out


def _histogram(summary: ClassSummary) -> str:
    """An inline SVG bar chart of the total scores."""
    values = sorted(set(range(int(summary.max_score) + 1)) | set(summary.scores))
    highest = max(summary.scores.values(), default=1)
    bar, gap, height, left, bottom = 28, 6, 160, 36, 34
    width = left + len(values) * (bar + gap) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + bottom + 10}" '
             'role="img" aria-label="histogram of the total scores" font-family="sans-serif" font-size="11">',
             f'<line x1="{left - 4}" y1="{height + 5}" x2="{width}" y2="{height + 5}" stroke="#444"/>']
    for i, value in enumerate(values):
        n = summary.scores.get(value, 0)
        h = round(height * n / highest) if highest else 0
        x = left + i * (bar + gap)
        parts.append(f'<rect x="{x}" y="{height + 5 - h}" width="{bar}" height="{h}" fill="#4a7ebb">'
                     f'<title>score {value:g}: {n} students</title></rect>')
        if n:
            parts.append(f'<text x="{x + bar / 2}" y="{height + 1 - h}" text-anchor="middle">{n}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{height + 20}" text-anchor="middle">{value:g}</text>')
    parts.append(f'<text x="{width / 2}" y="{height + bottom + 5}" text-anchor="middle">total score '
                 f'(of {summary.max_score:g})</text></svg>')
    return "\n".join(parts)


def page(summary: ClassSummary) -> str:
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Class report: {esc(summary.assignment)}</title>",
           "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
           "td.p{text-align:left}th{background:#f4f4f4}</style></head><body>",
           f"<h1>Class report: {esc(summary.assignment)}</h1>",
           f"<p>{summary.students} students graded. <em>Lost points</em>: a hidden test failed (the property "
           "below); <em>flagged</em>: the outside check failed, tampering was detected, or the test did not run "
           "(see the run's CSV and each student's feedback). No student is named here.</p>",
           "<h2>Total scores</h2>", _histogram(summary),
           "<h2>Per function</h2>", "<table><tr><th>function</th><th>points</th><th>full marks</th>"
           "<th>lost points</th><th>flagged</th></tr>"]
    for f in summary.functions:
        out.append(f'<tr><td class="p"><a href="#{esc(f.function)}">{esc(f.function)}</a></td><td>{f.points:g}</td>'
                   + "".join(f"<td>{f.outcomes[k]}/{f.students}</td>" for k in (FULL, LOST, FLAGGED)) + "</tr>")
    out.append("</table>")
    for f in summary.functions:
        out.append(f'<h3 id="{esc(f.function)}">{esc(f.function)}: {f.outcomes[LOST]}/{f.students} lost points</h3>')
        if not f.properties:
            out.append("<p>No hidden test failed.</p>")
            continue
        out.append("<table><tr><th>students</th><th class=\"p\">failed property (the hidden test's message; "
                   "# marks a student's own value)</th></tr>")
        out += [f'<tr><td>{n}</td><td class="p">{esc(p)}</td></tr>' for p, n in f.properties.most_common(TOP)]
        rest = sum(n for _, n in f.properties.most_common()[TOP:])
        if rest:
            out.append(f'<tr><td>{rest}</td><td class="p">other properties (all of them are in the CSV)</td></tr>')
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write(summary: ClassSummary, folder: Path) -> Tuple[Path, Path]:
    """Write ``class-report-<assignment>.csv`` and ``.html`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"class-report-{summary.assignment}.csv"
    html_path = folder / f"class-report-{summary.assignment}.html"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows(summary))
    html_path.write_text(page(summary))
    return csv_path, html_path


def report(root: Path, assignment: str, output: Optional[Path] = None) -> Optional[Tuple[ClassSummary, Path, Path]]:
    """The class report of ``assignment`` from the course at ``root`` (None when nobody was graded yet).

    Written to ``output`` (default: the course's ``autograded/`` folder).
    """
    coursedir, _ = course_directory(Path(root).resolve())
    autograded = Path(coursedir.root) / coursedir.autograded_directory
    results = load(autograded, assignment)
    if not results:
        return None
    summary = summarize(assignment, results)
    return (summary, *write(summary, output or autograded))
