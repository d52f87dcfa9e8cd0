"""The outside checks of course-grade (course_lib/grading/probes/<assignment>.py) against the banks of
mistakes, in this process (no nbgrader, no kernel): the solution's cells are run in a fresh namespace,
with at most one function replaced, the probe of each function writes its .npz as it would in the
student's kernel, and the grader's comparison judges it against the solution's."""
import importlib
import importlib.util
import tempfile
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from course_lib.grading import compare
from course_lib.grading.probe import run_probes

HERE = Path(__file__).resolve().parent
PREFIX = "import sys, warnings\n"  # the banks' correct variants chatter with these, as nbgrader's tests allow

# What the probes cannot see, by design: code borrowed from course_lib computes the right numbers (the
# hidden tests and borrowed_implementation catch it). Every other mistake of the banks changes a value.
MISSED = {
    "vae": {("reparameterize", "imports course_lib"), ("vae_train_step", "wraps course_lib")},
    "wgan_gp": {("critic_loss", "wraps course_lib"), ("wasserstein_generator_loss", "imports course_lib"),
                ("wasserstein_generator_loss", "calls course_lib through importlib"),
                ("clip_weights", "calls course_lib through importlib"), ("gradient_penalty", "imports course_lib")},
    "cyclegan": {("identity_loss", "imports course_lib"), ("cyclegan_generator_loss", "imports course_lib")},
    "naive_bayes": {("fit_naive_bayes", "imports course_lib"), ("fit_naive_bayes", "wraps course_lib"),
                    ("sample_naive_bayes", "calls course_lib through importlib"),
                    ("naive_bayes_log_likelihood", "course_lib helper function")},
}


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bank(assignment: str):
    if assignment == "naive_bayes":  # its bank lives with its in-process hidden-test checks
        return _module(HERE / "test_nbgrader_checks.py", "naive_bayes_checks_bank")
    return _module(HERE / "mistakes" / f"{assignment}.py", f"mistakes_bank_{assignment}")


def _cells(repo_root: Path, assignment: str):
    nb = nbformat.read(repo_root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.id: c.source for c in nb.cells}


class Harness:
    """Runs the solution of one assignment (some functions replaced) and its probes, like the kernel would."""

    def __init__(self, repo_root: Path, assignment: str, folder: Path):
        self.assignment, self.folder = assignment, folder
        self.cells = _cells(repo_root, assignment)
        self.bank = _bank(assignment)
        self.functions = list(self.bank.POINTS)
        self.reference = self.probe({})

    def source(self, function: str) -> str:
        return "\n".join(ln for ln in self.cells[f"{function}_code"].splitlines() if "### " not in ln)

    def namespace(self, replacements: dict) -> dict:
        namespace = {"__name__": "__main__"}
        exec(PREFIX + self.cells["setup"], namespace)
        for function in self.functions:
            exec(replacements.get(function, self.source(function)), namespace)
        return namespace

    def probe(self, replacements: dict, only=None, namespace=None) -> dict:
        namespace = self.namespace(replacements) if namespace is None else namespace
        path = tempfile.mktemp(suffix=".npz", dir=self.folder)
        run_probes(self.assignment, namespace, path, only)
        return compare.load_strict(Path(path), 10 ** 8)

    def judged(self, function: str, values: dict):
        """Why ``values`` fail the outside check of ``function`` (None: they pass), as the grader judges."""
        spec = _probe_spec(self.assignment)
        tolerance = getattr(spec, "TOLERANCES", {}).get(function, compare.DEFAULT_TOLERANCE)
        return compare.mismatch(compare.function_arrays(self.reference, function),
                                compare.function_arrays(values, function), tolerance)

    def verdict(self, function: str, source: str):
        return self.judged(function, self.probe({function: source}, only=function))


def _probe_spec(assignment: str):
    return importlib.import_module(f"course_lib.grading.probes.{assignment}")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: one thread is much faster than several that wait for a busy machine's cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def harnesses(repo_root, tmp_path_factory):
    made = {}

    def get(assignment):
        if assignment not in made:
            made[assignment] = Harness(repo_root, assignment, tmp_path_factory.mktemp(assignment))
        return made[assignment]

    return get


ASSIGNMENTS = ["vae", "wgan_gp", "cyclegan", "naive_bayes"]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_function_has_a_probe_that_the_solution_passes(harnesses, assignment):
    harness = harnesses(assignment)
    assert set(_probe_spec(assignment).PROBES) == set(harness.functions)
    for function in harness.functions:
        assert compare.function_arrays(harness.reference, function), f"{function} wrote no probe values"
        # run alone (as in its own probe cell, after whatever the notebook left in the RNG), the same values
        assert harness.judged(function, harness.probe({}, only=function)) is None, function


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_probes_pass_every_correct_variant_and_catch_the_mistakes(harnesses, assignment):
    harness = harnesses(assignment)
    for function, source in harness.bank.CORRECT_VARIANTS.items():
        assert harness.verdict(function, source) is None, function
    missed = {(function, name) for function, mistakes in harness.bank.MISTAKES.items()
              for name, (source, _) in mistakes.items() if harness.verdict(function, source) is None}
    assert missed == MISSED[assignment]


# More correct ways that draw their randomness differently from the solution: the probes must not flag them.
OTHER_CORRECT = {
    "vae": {"reparameterize": textwrap.dedent("""
        def reparameterize(mu, logvar, noise=None):
            if noise is None:
                return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()
            return mu + torch.exp(0.5 * logvar) * noise
        """)},
    "wgan_gp": {"critic_train_step": textwrap.dedent("""
        def critic_train_step(generator, critic, c_optimizer, real, latent_dim, gp_weight=10.0):
            fake = generator(torch.randn(len(real), latent_dim)).detach()
            eps = torch.rand(len(real))  # its own eps, passed on
            loss = critic_loss(critic(real), critic(fake)) + gp_weight * gradient_penalty(critic, real, fake, eps=eps)
            c_optimizer.zero_grad(set_to_none=False)
            loss.backward()
            c_optimizer.step()
            return {"loss": loss.item()}
        """), "gradient_penalty": textwrap.dedent("""
        def gradient_penalty(critic, real, fake, eps=None):
            shape = (real.shape[0],) + (1,) * (real.dim() - 1)
            eps = torch.rand(shape) if eps is None else eps.reshape(shape)
            x_hat = torch.lerp(fake.detach(), real.detach(), eps).requires_grad_()
            (grad,) = torch.autograd.grad(critic(x_hat), x_hat, torch.ones_like(critic(x_hat)), create_graph=True)
            return ((grad.reshape(len(grad), -1) ** 2).sum(1).sqrt() - 1).square().mean()
        """)},
    "cyclegan": {"cyclegan_generator_loss": textwrap.dedent("""
        import torch.nn.functional as F
        def cyclegan_generator_loss(g_xy, g_yx, d_x, d_y, real_x, real_y, cycle_weight=10.0, identity_weight=5.0):
            fake_y, fake_x = g_xy(real_x), g_yx(real_y)
            adversarial = sum(F.mse_loss(s, torch.ones_like(s)) for s in (d_y(fake_y), d_x(fake_x)))
            cycle = F.l1_loss(g_yx(fake_y), real_x) + F.l1_loss(g_xy(fake_x), real_y)
            identity = F.l1_loss(g_xy(real_y), real_y) + F.l1_loss(g_yx(real_x), real_x)
            return {"fake_y": fake_y, "fake_x": fake_x, "cycle": cycle, "identity": identity, "adversarial": adversarial,
                    "loss": adversarial + cycle_weight * cycle + identity_weight * identity}
        """)},
    "naive_bayes": {"fit_naive_bayes": textwrap.dedent("""
        def fit_naive_bayes(df, alpha=0.0):
            params = {}
            for column in df.columns:
                counts = df[column].value_counts(sort=False).astype(float)  # every category of a Categorical
                params[column] = (counts + alpha) / (counts.sum() + alpha * len(counts))
            return params
        """), "sample_naive_bayes": textwrap.dedent("""
        def sample_naive_bayes(params, n, rng=None):
            rng = np.random.default_rng(rng)
            columns = {}
            for column, probs in params.items():
                codes = rng.multinomial(1, probs.to_numpy(), size=n).argmax(axis=1)
                columns[column] = pd.Categorical.from_codes(codes, categories=list(probs.index))
            return pd.DataFrame(columns)
        """)},
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_probes_pass_correct_functions_that_draw_differently(harnesses, assignment):
    harness = harnesses(assignment)
    for function, source in OTHER_CORRECT[assignment].items():
        exec(harness.cells[function], harness.namespace({function: source}))  # earns its points in the kernel
        assert harness.verdict(function, source) is None, function


@pytest.mark.filterwarnings("ignore")
def test_naive_bayes_probes_catch_the_workflow_mistakes(harnesses):
    harness = harnesses("naive_bayes")
    wrong = _module(HERE / "test_nbgrader_workflow.py", "naive_bayes_workflow_bank").WRONG
    assert set(wrong) == set(harness.functions)
    for function, source in wrong.items():
        assert harness.verdict(function, textwrap.dedent(source)) is not None, function


# A kernel that patches the checks the hidden tests rely on: a wrong function with an always-true allclose.
TAMPERED = {
    "vae": ("kl_divergence", "sign flipped", "torch"),
    "wgan_gp": ("gradient_penalty", "one-sided penalty", "torch"),
    "cyclegan": ("cyclegan_generator_loss", "cycle weight on the identity terms", "torch"),
    "naive_bayes": ("naive_bayes_log_likelihood", "log10", "np"),
}
PATCH = """
import numpy as np
import torch
{module}.allclose = lambda *args, **kwargs: True
{module}.isclose = lambda *args, **kwargs: True
"""


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_tampered_kernel_still_fails_the_outside_check(harnesses, assignment):
    harness = harnesses(assignment)
    function, mistake, module = TAMPERED[assignment]
    source = harness.bank.MISTAKES[function][mistake][0] + PATCH.format(module=module)
    library = {"torch": torch, "np": np}[module]
    saved = library.allclose, library.isclose
    try:
        namespace = harness.namespace({function: source})
        assert library.allclose(0, 1) and library.isclose(0, 1)  # the patch holds while the probe runs
        values = harness.probe({}, only=function, namespace=namespace)
    finally:  # the grader's own process is never the student's kernel
        library.allclose, library.isclose = saved
    assert harness.judged(function, values) is not None


def test_results_that_only_claim_to_be_equal_are_refused(harnesses):
    harness = harnesses("vae")
    liar = textwrap.dedent("""
        class Anything(torch.Tensor):
            def __eq__(self, other):
                return True
        def kl_divergence(mu, logvar):
            return torch.zeros(()).as_subclass(Anything)
        """)
    assert harness.verdict("kl_divergence", liar) is not None


def test_a_rounding_difference_is_an_outside_check_failure_not_tampering():
    """Issue 13 item 3: a probe that misses its tolerance by a rounding difference is not cheating."""
    import nbformat as nbf
    from course_lib.grading import scoring
    cell = nbf.v4.new_code_cell("pass")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "f", "points": 2, "solution": False, "locked": True}
    nb = nbf.v4.new_notebook(cells=[cell])
    reference = {"f": np.array([1.0, 2.0])}
    close = scoring.score(nb, {0: "ok"}, {"f": 2.0}, {"f": np.array([1.001, 2.0])}, reference, {"f"})
    assert close.flags == [scoring.OUTSIDE_CHECK] and close.scores == {"f": 0.0} and "outside check" in close.notes["f"]
    far = scoring.score(nb, {0: "ok"}, {"f": 2.0}, {"f": np.array([5.0, 2.0])}, reference, {"f"})
    assert far.flags == [scoring.TAMPERING]
    assert scoring.score(nb, {0: "ok"}, {"f": 2.0}, dict(reference), reference, {"f"}).scores == {"f": 2.0}


def test_a_failed_test_cell_note_carries_the_hidden_tests_diagnosis():
    import nbformat as nbf
    from course_lib.grading import scoring
    cell = nbf.v4.new_code_cell("pass")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "kl", "points": 2, "solution": False, "locked": True}
    cell.outputs = [nbf.v4.new_output("error", ename="CheckFailed", evalue="KL should be >= 0\nmore", traceback=[])]
    result = scoring.score(nbf.v4.new_notebook(cells=[cell]), {0: "error"}, {"kl": 2.0}, None, {}, set())
    assert result.notes["kl"] == "test cell: error: KL should be >= 0"
