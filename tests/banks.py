"""The banks of student submissions the grading tests use, loaded as modules.

``tests/mistakes/<assignment>.py`` holds honest mistakes (``POINTS``, ``MISTAKES``, ``CORRECT_VARIANTS``
and, where the visible checks catch some, ``VISIBLE``); ``tests/hostile/<assignment>.py`` holds
submissions that attack the grader.
"""
import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def load_bank(kind: str, assignment: str) -> ModuleType:
    """``tests/<kind>/<assignment>.py`` as a module; ``kind`` is ``"mistakes"`` or ``"hostile"``."""
    path = HERE / kind / f"{assignment}.py"
    if not path.exists():
        raise FileNotFoundError(f"no bank {path}: kind is 'mistakes' or 'hostile', assignment a folder of solutions/")
    spec = importlib.util.spec_from_file_location(f"bank_{kind}_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
