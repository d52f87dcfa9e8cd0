"""What runs inside the student's kernel: the checks the hidden and visible tests of every assignment use.

Three modules, imported together by ``import course_lib.grading.kernel`` (the assignments' locked
setup cell does it before any student code runs, so the captured torch functions are the real ones):

- :mod:`.checks`   ``CheckFailed``, ``TamperingDetected``, ``check``, ``substituted``
- :mod:`.guard`    ``call``, ``run_hidden_tests``, ``borrowed_implementation``, ``forbidden_calls``,
                   ``forbidden_decorated_calls``, ``check_untampered``, ``guarded``
- :mod:`.tensors`  ``check_tensor``, ``check_scalar``, ``as_float``, ``check_float_dict``, ``close``,
                   ``max_error``, ``show``, ``snapshot``, ``parameters_close``, ``parameters_error``

Every public name is also importable from this package (``from course_lib.grading.kernel import
check, call, check_scalar``). Nothing here holds a reference implementation, and nothing here
imports nbgrader.
"""
from .checks import CheckFailed, TamperingDetected, check, substituted
from .guard import (ReferenceCalled, borrowed_implementation, call, check_untampered, forbidden_calls,
                    forbidden_decorated_calls, guarded, run_hidden_tests)
from .tensors import (as_float, check_float_dict, check_scalar, check_tensor, close, describe, max_error,
                      parameters_close, parameters_error, show, snapshot)

__all__ = ["CheckFailed", "TamperingDetected", "check", "substituted", "ReferenceCalled", "borrowed_implementation",
           "call", "check_untampered", "forbidden_calls", "forbidden_decorated_calls", "guarded", "run_hidden_tests",
           "as_float", "check_float_dict", "check_scalar", "check_tensor", "close", "describe", "max_error",
           "parameters_close", "parameters_error", "show", "snapshot"]
