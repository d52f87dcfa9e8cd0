# The two commands a reader needs (see README.md):
#   make book   build the whole HTML book into _build/html, executing every notebook
#   make test   run the full test suite
# Both create the virtual environment .venv on first use; nothing else needs installing by hand.
# The instructor commands (nbgrader) are listed under `make help`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := python3
# Figures in the book come from the kernels' inline backend (a MPLBACKEND=Agg in the caller's
# environment would silently drop them).
INLINE := module://matplotlib_inline.backend_inline
# Compute budget for the book build: smoke | cpu | full (see course_lib/config.py).
COURSE_BUDGET ?= cpu
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help book test venv assignments autograde feedback grades clean

help:
	@echo "make book         build the HTML book into _build/html (COURSE_BUDGET=$(COURSE_BUDGET))"
	@echo "make test         run the full test suite"
	@echo "make assignments  regenerate assignments/ (student versions) from solutions/"
	@echo "make autograde    autograde every submission in submitted/<student>/<assignment>/ (sandboxed, in parallel;"
	@echo "                  ASSIGNMENT=vae for one, JOBS=N students at a time)"
	@echo "make feedback     generate HTML feedback for autograded submissions"
	@echo "make grades       export grades to grades.csv"
	@echo "(each calls one subcommand of .venv/bin/course-grade; see course-grade --help)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 (course .venv)"
	@touch $(STAMP)

book: $(STAMP)
	COURSE_BUDGET=$(COURSE_BUDGET) MPLBACKEND=$(INLINE) $(BIN)/jupyter-book build . --builder html -W -n --keep-going
	@echo "Book built: open _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The instructor targets call only `course-grade` (installed with course_lib; see book/instructors.md).
assignments: $(STAMP)
	$(BIN)/course-grade release --all

# Sandboxed and parallel; JOBS students at a time (default: the cores).
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
# `make autograde ASSIGNMENT=vae` grades one; assignments with no submitted/*/<assignment>/ are skipped.
ASSIGNMENT ?= $(shell ls solutions)
autograde: $(STAMP)
	@for a in $(ASSIGNMENT); do \
	  if ! ls -d submitted/*/$$a >/dev/null 2>&1; then echo "$$a: no submissions, skipped"; continue; fi; \
	  $(BIN)/course-grade autograde $$a --jobs $(JOBS) --report autograde-$$a.csv; \
	  test $$? -le 1 || exit 1; done  # 1: some flagged

feedback: $(STAMP)
	$(BIN)/course-grade feedback --all

grades: $(STAMP)
	$(BIN)/course-grade export --output grades.csv

clean:
	rm -rf _build
