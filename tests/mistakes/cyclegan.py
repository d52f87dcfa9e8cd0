"""Real mistakes in the `cyclegan` assignment, for the hidden tests to catch.

``MISTAKES[function][name] = (source, words)``: ``source`` replaces the solution cell of ``function``
(it defines that function, wrongly); the hidden tests must take that function's points, and only
those, with a message that holds ``words``. ``CORRECT_VARIANTS[function]`` are other correct ways
to write it (some chatter on stderr or warn): they must earn full marks.
"""
import textwrap

ASSIGNMENT = "cyclegan"
POINTS = {"cycle_consistency_loss": 2, "identity_loss": 2, "cyclegan_generator_loss": 6}


def _fn(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


def _l1(name: str, first: str, second: str, body: str) -> str:
    return _fn(f"""
        import torch.nn.functional as F
        def {name}({first}, {second}):
            return {body}
        """)


# The solution's cyclegan_generator_loss with one piece changed.
_OBJECTIVE = """
import torch.nn.functional as F
def cyclegan_generator_loss(g_xy, g_yx, d_x, d_y, real_x, real_y, cycle_weight=10.0, identity_weight=5.0):
    fake_y = g_xy(real_x)
    fake_x = g_yx(real_y)
    adversarial = {adversarial}
    cycle = {cycle}
    identity = {identity}
    loss = {loss}
    {extra}
    return {{"loss": loss, "adversarial": adversarial, "cycle": {cycle_entry}, "identity": identity,
            "fake_x": {fake_x}, "fake_y": {fake_y}}}
"""
_PARTS = {
    "adversarial": "(d_y(fake_y) - 1).pow(2).mean() + (d_x(fake_x) - 1).pow(2).mean()",
    "cycle": "cycle_consistency_loss(real_x, g_yx(fake_y)) + cycle_consistency_loss(real_y, g_xy(fake_x))",
    "identity": "identity_loss(real_y, g_xy(real_y)) + identity_loss(real_x, g_yx(real_x))",
    "loss": "adversarial + cycle_weight * cycle + identity_weight * identity",
    "extra": "",
    "cycle_entry": "cycle",
    "fake_x": "fake_x",
    "fake_y": "fake_y",
}


def _objective(**changes: str) -> str:
    return _fn(_OBJECTIVE.format(**{**_PARTS, **changes}))


MISTAKES = {
    "cycle_consistency_loss": {
        "L2 instead of L1": (_l1("cycle_consistency_loss", "real", "reconstructed", "F.mse_loss(reconstructed, real)"),
                             "squared error (L2)"),
        "root mean squared error": (_l1("cycle_consistency_loss", "real", "reconstructed",
                                        "(reconstructed - real).pow(2).mean().sqrt()"), "root mean squared"),
        "sum instead of mean": (_l1("cycle_consistency_loss", "real", "reconstructed", "(reconstructed - real).abs().sum()"),
                                "sum over all elements"),
        "summed over pixels, averaged over the batch": (
            _l1("cycle_consistency_loss", "real", "reconstructed", "(reconstructed - real).abs().flatten(1).sum(1).mean()"),
            "averages over the batch only"),
        "no absolute value": (_l1("cycle_consistency_loss", "real", "reconstructed", "(reconstructed - real).mean()"),
                              "absolute values"),
        "smooth L1 (Huber)": (_l1("cycle_consistency_loss", "real", "reconstructed", "F.smooth_l1_loss(reconstructed, real)"),
                              "Huber"),
        "one value per image": (_l1("cycle_consistency_loss", "real", "reconstructed",
                                    "(reconstructed - real).abs().flatten(1).mean(1)"), "0-dim"),
        "returns a Python float": (_l1("cycle_consistency_loss", "real", "reconstructed",
                                       "(reconstructed - real).abs().mean().item()"), "Python float"),
    },
    "identity_loss": {
        "L2 instead of L1": (_l1("identity_loss", "real", "same", "((same - real) ** 2).mean()"), "squared error (L2)"),
        "no absolute value": (_l1("identity_loss", "real", "same", "(same - real).mean()"), "absolute values"),
        "L1 norm divided by the batch size": (_l1("identity_loss", "real", "same",
                                                  "torch.norm(same - real, p=1) / real.shape[0]"),
                                              "averages over the batch only"),
        "a mean over the batch dimension only": (_l1("identity_loss", "real", "same", "(same - real).abs().mean(dim=0)"),
                                                 "0-dim"),
        "rebuilt tensor (no gradient)": (_l1("identity_loss", "real", "same",
                                             "torch.tensor((same - real).abs().mean().item())"), "differentiable"),
        "imports course_lib": (_fn("""
            from course_lib.losses import identity_loss
            """), "course_lib"),
    },
    "cyclegan_generator_loss": {
        "binary cross-entropy instead of least squares": (_objective(
            adversarial="F.binary_cross_entropy_with_logits(d_y(fake_y), torch.ones_like(d_y(fake_y))) + "
                        "F.binary_cross_entropy_with_logits(d_x(fake_x), torch.ones_like(d_x(fake_x)))"),
            "binary cross-entropy"),
        "adversarial target 0 instead of 1": (_objective(adversarial="d_y(fake_y).pow(2).mean() + d_x(fake_x).pow(2).mean()"),
                                              "scored 1"),
        "discriminators swapped": (_objective(adversarial="(d_x(fake_y) - 1).pow(2).mean() + (d_y(fake_x) - 1).pow(2).mean()"),
                                   "discriminators are swapped"),
        "the real images scored": (_objective(adversarial="(d_y(real_y) - 1).pow(2).mean() + (d_x(real_x) - 1).pow(2).mean()"),
                                   "scores the real images"),
        "one adversarial direction": (_objective(adversarial="(d_y(fake_y) - 1).pow(2).mean()"), "direction only"),
        "cycle domains swapped": (_objective(
            cycle="cycle_consistency_loss(real_x, g_xy(g_yx(real_x))) + cycle_consistency_loss(real_y, g_yx(g_xy(real_y)))"),
            "domains are swapped"),
        "cycle against the translation": (_objective(
            cycle="cycle_consistency_loss(real_x, fake_y) + cycle_consistency_loss(real_y, fake_x)"),
            "not with its reconstruction"),
        "one cycle only": (_objective(cycle="cycle_consistency_loss(real_x, g_yx(fake_y))"), "cycle of real_x only"),
        "identity domains swapped": (_objective(
            identity="identity_loss(real_x, g_xy(real_x)) + identity_loss(real_y, g_yx(real_y))"),
            "g_xy translates into Y"),
        "identity term missing": (_objective(loss="adversarial + cycle_weight * cycle"), "identity terms are missing"),
        "cycle weight on the identity terms": (_objective(loss="adversarial + cycle_weight * (cycle + identity)"),
                                               "applies cycle_weight to the identity terms"),
        "identity weight as a fraction of the cycle weight": (_objective(
            loss="adversarial + cycle_weight * cycle + 0.5 * cycle_weight * identity"), "weight itself"),
        "default weights hard-coded": (_objective(loss="adversarial + 10.0 * cycle + 5.0 * identity"), "ignored"),
        "weighted cycle entry": (_objective(cycle_entry="cycle_weight * cycle"), "unweighted"),
        "fakes detached before the discriminators": (_objective(
            adversarial="(d_y(fake_y.detach()) - 1).pow(2).mean() + (d_x(fake_x.detach()) - 1).pow(2).mean()"),
            "send no gradient"),
        "fake_x and fake_y swapped": (_objective(fake_x="fake_y", fake_y="fake_x"), "swapped"),
        "calls backward itself": (_objective(extra="loss.backward(retain_graph=True)"), "only compute the losses"),
        "imports course_lib": (_fn("""
            from course_lib.losses import cyclegan_generator_loss
            """), "course_lib"),
    },
}

CORRECT_VARIANTS = {
    "cycle_consistency_loss": _fn("""
        import torch.nn.functional as F
        def cycle_consistency_loss(real, reconstructed):
            print("cycle loss on", tuple(real.shape), file=sys.stderr)
            return F.l1_loss(reconstructed, real)
        """),
    "identity_loss": _fn("""
        def identity_loss(real, same):
            warnings.warn("identity loss")
            return torch.mean(torch.abs(real - same))
        """),
    "cyclegan_generator_loss": _fn("""
        import torch.nn.functional as F
        def cyclegan_generator_loss(g_xy, g_yx, d_x, d_y, real_x, real_y, cycle_weight=10.0, identity_weight=5.0):
            fake_y, fake_x = g_xy(real_x), g_yx(real_y)
            scores_y, scores_x = d_y(fake_y), d_x(fake_x)
            adversarial = F.mse_loss(scores_y, torch.ones_like(scores_y)) + F.mse_loss(scores_x, torch.ones_like(scores_x))
            cycle = cycle_consistency_loss(real_x, g_yx(fake_y)) + cycle_consistency_loss(real_y, g_xy(fake_x))
            identity = identity_loss(real_y, g_xy(real_y)) + identity_loss(real_x, g_yx(real_x))  # even with weight 0
            print(f"adversarial {adversarial.item():.3f}", file=sys.stderr)
            return {"loss": adversarial + cycle_weight * cycle + identity_weight * identity, "adversarial": adversarial,
                    "cycle": cycle, "identity": identity, "fake_x": fake_x, "fake_y": fake_y, "extra": 1}
        """),
}
