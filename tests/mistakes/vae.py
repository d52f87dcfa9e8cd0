"""Real mistakes in the graded functions of the `vae` assignment (solutions/vae/vae.ipynb).

``MISTAKES[function][name] = (source, words)``: ``source`` replaces the solution cell of ``function``
(it defines a function of that name, in the notebook's namespace: ``torch``, ``F``, ``math`` and
the other graded functions are there), and the message of the failing hidden test must contain
``words``. ``CORRECT_VARIANTS[function]`` are other correct ways to write it, which must earn full
marks even though they write to stderr. Used by tests/test_assignment_vae_gan.py, in process and
through nbgrader.
"""
import textwrap

ASSIGNMENT = "vae"
POINTS = {"reparameterize": 2, "kl_divergence": 2, "vae_loss": 2, "interpolate": 2, "vae_train_step": 2}
LIBRARY = ("course_lib.losses", "course_lib.sampling", "course_lib.training")


def _fn(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


MISTAKES = {
    "reparameterize": {
        "variance instead of standard deviation": (_fn("""
            def reparameterize(mu, logvar, noise=None):
                if noise is None:
                    noise = torch.randn_like(mu)
                return mu + torch.exp(logvar) * noise
            """), "the variance"),
        "logvar used as the standard deviation": (_fn("""
            def reparameterize(mu, logvar, noise=None):
                if noise is None:
                    noise = torch.randn_like(mu)
                return mu + logvar * noise
            """), "logvar itself"),
        "mu detached": (_fn("""
            def reparameterize(mu, logvar, noise=None):
                if noise is None:
                    noise = torch.randn_like(mu)
                return mu.detach() + torch.exp(0.5 * logvar) * noise
            """), "no gradient reaches mu"),
        "drawn under no_grad": (_fn("""
            def reparameterize(mu, logvar, noise=None):
                with torch.no_grad():
                    eps = torch.randn_like(mu) if noise is None else noise
                    return mu + torch.exp(0.5 * logvar) * eps
            """), "differentiable"),
        "ignores the given noise": (_fn("""
            def reparameterize(mu, logvar, noise=None):
                eps = torch.randn_like(mu)
                return mu + torch.exp(0.5 * logvar) * eps
            """), "use the noise you are given"),
        "uniform noise": (_fn("""
            def reparameterize(mu, logvar, noise=None):
                if noise is None:
                    noise = torch.rand_like(mu)
                return mu + torch.exp(0.5 * logvar) * noise
            """), "N(mu, sigma^2)"),
        "the same noise on every call": (_fn("""
            def reparameterize(mu, logvar, noise=None):
                if noise is None:
                    noise = torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
                return mu + torch.exp(0.5 * logvar) * noise
            """), "new noise"),
        "imports course_lib": (_fn("""
            from course_lib.sampling import reparameterize
            """), "own code"),
    },
    "kl_divergence": {
        "sign flipped": (_fn("""
            def kl_divergence(mu, logvar):
                return 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1).mean()
            """), "sign"),
        "averaged over the latent dimensions": (_fn("""
            def kl_divergence(mu, logvar):
                return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())
            """), "average over the latent dimensions"),
        "summed over the batch": (_fn("""
            def kl_divergence(mu, logvar):
                return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            """), "sum over the batch"),
        "standard deviation instead of variance": (_fn("""
            def kl_divergence(mu, logvar):
                std = torch.exp(0.5 * logvar)
                return -0.5 * (1 + logvar - mu.pow(2) - std).sum(dim=1).mean()
            """), "the KL divergence should be"),
        "one value per example": (_fn("""
            def kl_divergence(mu, logvar):
                return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
            """), "0-dim"),
        "shape (1,) instead of 0-dim": (_fn("""
            def kl_divergence(mu, logvar):
                return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean(dim=0, keepdim=True)
            """), "shape (1,)"),
        "a Python float": (_fn("""
            def kl_divergence(mu, logvar):
                return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean()).item()
            """), "torch.Tensor"),
    },
    "vae_loss": {
        "sigmoid before BCE with logits": (_fn("""
            def vae_loss(x_logits, x, mu, logvar, beta=1.0):
                bce = F.binary_cross_entropy_with_logits(torch.sigmoid(x_logits), x, reduction="none")
                return bce.flatten(1).sum(dim=1).mean() + beta * kl_divergence(mu, logvar)
            """), "sigmoid"),
        "reconstruction averaged over pixels": (_fn("""
            def vae_loss(x_logits, x, mu, logvar, beta=1.0):
                return F.binary_cross_entropy_with_logits(x_logits, x) + beta * kl_divergence(mu, logvar)
            """), "average the reconstruction term over the pixels"),
        "beta on the reconstruction term": (_fn("""
            def vae_loss(x_logits, x, mu, logvar, beta=1.0):
                bce = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).sum(dim=1).mean()
                return beta * bce + kl_divergence(mu, logvar)
            """), "multiplies the reconstruction term"),
        "summed over the batch": (_fn("""
            def vae_loss(x_logits, x, mu, logvar, beta=1.0):
                return F.binary_cross_entropy_with_logits(x_logits, x, reduction="sum") + beta * kl_divergence(mu, logvar)
            """), "sum over the batch"),
        "sigmoid then binary_cross_entropy": (_fn("""
            def vae_loss(x_logits, x, mu, logvar, beta=1.0):
                bce = F.binary_cross_entropy(torch.sigmoid(x_logits), x, reduction="sum") / x.shape[0]
                return bce + beta * kl_divergence(mu, logvar)
            """), "binary_cross_entropy_with_logits"),
        "KL term missing": (_fn("""
            def vae_loss(x_logits, x, mu, logvar, beta=1.0):
                return F.binary_cross_entropy_with_logits(x_logits, x, reduction="sum") / x.shape[0]
            """), "KL term is missing"),
        "squared error on probabilities": (_fn("""
            def vae_loss(x_logits, x, mu, logvar, beta=1.0):
                mse = (torch.sigmoid(x_logits) - x).pow(2).flatten(1).sum(dim=1).mean()
                return mse + beta * kl_divergence(mu, logvar)
            """), "the loss should be the reconstruction term"),
    },
    "interpolate": {
        "endpoint excluded": (_fn("""
            def interpolate(z0, z1, steps, method="linear"):
                t = torch.arange(steps, dtype=z0.dtype) / steps
                shape = (steps,) + (1,) * z0.dim()
                return (1 - t).view(shape) * z0 + t.view(shape) * z1
            """), "both ends are included"),
        "slerp done as linear": (_fn("""
            def interpolate(z0, z1, steps, method="linear"):
                if method not in ("linear", "slerp"):
                    raise ValueError(method)
                t = torch.linspace(0, 1, steps).view(-1, *[1] * z0.dim())
                return (1 - t) * z0 + t * z1
            """), "straight line"),
        "weights swapped": (_fn("""
            def interpolate(z0, z1, steps, method="linear"):
                t = torch.linspace(0, 1, steps).view(-1, *[1] * z0.dim())
                return t * z0 + (1 - t) * z1
            """), "first row"),
        "a list instead of a tensor": (_fn("""
            def interpolate(z0, z1, steps, method="linear"):
                return [(1 - t) * z0 + t * z1 for t in torch.linspace(0, 1, steps)]
            """), "torch.Tensor"),
        "slerp angle without the norms": (_fn("""
            def interpolate(z0, z1, steps, method="linear"):
                t = torch.linspace(0, 1, steps).view(-1, *[1] * z0.dim())
                if method == "linear":
                    return (1 - t) * z0 + t * z1
                if method != "slerp":
                    raise ValueError(method)
                theta = torch.arccos(torch.dot(z0, z1).clamp(-1, 1))
                if theta < 1e-4:
                    return (1 - t) * z0 + t * z1
                return (torch.sin((1 - t) * theta) * z0 + torch.sin(t * theta) * z1) / torch.sin(theta)
            """), "norm"),
        "slerp divides by sin(0)": (_fn("""
            def interpolate(z0, z1, steps, method="linear"):
                t = torch.linspace(0, 1, steps).view(-1, *[1] * z0.dim())
                if method == "linear":
                    return (1 - t) * z0 + t * z1
                if method != "slerp":
                    raise ValueError(method)
                theta = torch.arccos((torch.dot(z0, z1) / (z0.norm() * z1.norm())).clamp(-1, 1))
                return (torch.sin((1 - t) * theta) * z0 + torch.sin(t * theta) * z1) / torch.sin(theta)
            """), "NaN"),
        "unknown method accepted": (_fn("""
            def interpolate(z0, z1, steps, method="linear"):
                t = torch.linspace(0, 1, steps).view(-1, *[1] * z0.dim())
                w0, w1 = 1 - t, t
                if method == "slerp":
                    theta = torch.arccos((torch.dot(z0, z1) / (z0.norm() * z1.norm())).clamp(-1, 1))
                    if theta > 1e-4:
                        w0, w1 = torch.sin((1 - t) * theta) / torch.sin(theta), torch.sin(t * theta) / torch.sin(theta)
                return w0 * z0 + w1 * z1
            """), "ValueError"),
    },
    "vae_train_step": {
        "no zero_grad": (_fn("""
            def vae_train_step(model, optimizer, x, beta=1.0):
                x_logits, mu, logvar = model(x)
                loss = vae_loss(x_logits, x, mu, logvar, beta=beta)
                loss.backward()
                optimizer.step()
                return {"loss": loss.item()}
            """), "zero_grad"),
        "no optimizer.step": (_fn("""
            def vae_train_step(model, optimizer, x, beta=1.0):
                optimizer.zero_grad()
                x_logits, mu, logvar = model(x)
                loss = vae_loss(x_logits, x, mu, logvar, beta=beta)
                loss.backward()
                return {"loss": loss.item()}
            """), "did not change"),
        "zero_grad between backward and step": (_fn("""
            def vae_train_step(model, optimizer, x, beta=1.0):
                x_logits, mu, logvar = model(x)
                loss = vae_loss(x_logits, x, mu, logvar, beta=beta)
                loss.backward()
                optimizer.zero_grad()
                optimizer.step()
                return {"loss": loss.item()}
            """), "did not change"),
        "beta not passed on": (_fn("""
            def vae_train_step(model, optimizer, x, beta=1.0):
                optimizer.zero_grad()
                x_logits, mu, logvar = model(x)
                loss = vae_loss(x_logits, x, mu, logvar)
                loss.backward()
                optimizer.step()
                return {"loss": loss.item()}
            """), "ignores beta"),
        "returns the loss tensor": (_fn("""
            def vae_train_step(model, optimizer, x, beta=1.0):
                optimizer.zero_grad()
                x_logits, mu, logvar = model(x)
                loss = vae_loss(x_logits, x, mu, logvar, beta=beta)
                loss.backward()
                optimizer.step()
                return {"loss": loss}
            """), "Python float"),
        "returns the loss after the update": (_fn("""
            def vae_train_step(model, optimizer, x, beta=1.0):
                optimizer.zero_grad()
                x_logits, mu, logvar = model(x)
                vae_loss(x_logits, x, mu, logvar, beta=beta).backward()
                optimizer.step()
                with torch.no_grad():
                    x_logits, mu, logvar = model(x)
                    return {"loss": vae_loss(x_logits, x, mu, logvar, beta=beta).item()}
            """), "before the update"),
        "wraps course_lib": (_fn("""
            import course_lib.training as reference
            def vae_train_step(model, optimizer, x, beta=1.0):
                return reference.vae_train_step(model, optimizer, x, beta)
            """), "own code"),
    },
}

# Other correct ways to write each function: they must earn full marks, even though they write to stderr.
CORRECT_VARIANTS = {
    "reparameterize": _fn("""
        def reparameterize(mu, logvar, noise=None):
            import sys
            print("drawing codes", file=sys.stderr)
            eps = torch.normal(torch.zeros_like(mu), torch.ones_like(mu)) if noise is None else noise
            return torch.addcmul(mu, torch.exp(logvar / 2), eps)
        """),
    "kl_divergence": _fn("""
        def kl_divergence(mu, logvar):
            import warnings
            warnings.warn("a warning from the student's code")
            q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
            p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
            return torch.distributions.kl_divergence(q, p).sum(dim=-1).mean()
        """),
    "vae_loss": _fn("""
        def vae_loss(x_logits, x, mu, logvar, beta=1.0):
            reconstruction = F.binary_cross_entropy_with_logits(x_logits, x, reduction="sum") / x.size(0)
            return reconstruction + beta * kl_divergence(mu, logvar)
        """),
    "interpolate": _fn("""
        def interpolate(z0, z1, steps, method="linear"):
            if method == "linear":
                return torch.stack([torch.lerp(z0, z1, float(t)) for t in torch.linspace(0, 1, steps)])
            if method == "slerp":
                a, b = z0 / z0.norm(), z1 / z1.norm()
                omega = torch.acos(torch.clamp((a * b).sum(), -1.0, 1.0))
                points = []
                for t in torch.linspace(0, 1, steps):
                    if omega.abs() < 1e-6:
                        points.append((1 - t) * z0 + t * z1)
                    else:
                        points.append((torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega))
                return torch.stack(points)
            raise ValueError(f"unknown method {method}")
        """),
    "vae_train_step": _fn("""
        def vae_train_step(model, optimizer, x, beta=1.0):
            import sys
            from tqdm import tqdm
            for p in model.parameters():
                p.grad = None
            x_logits, mu, logvar = model(x)
            loss = vae_loss(x_logits, x, mu, logvar, beta)
            loss.backward()
            optimizer.step()
            for _ in tqdm(range(2), file=sys.stderr):  # a progress bar on stderr
                pass
            return {"loss": float(loss.detach()), "kl": kl_divergence(mu, logvar).item()}
        """),
}

# The mistakes that go through a real nbgrader autograde by default (every graded function, and the
# course_lib imports); COURSE_GRADING_ROUND_TRIP=all sends the whole bank.
ROUND_TRIP = [
    ("reparameterize", "variance instead of standard deviation"),
    ("reparameterize", "imports course_lib"),
    ("kl_divergence", "sign flipped"),
    ("kl_divergence", "averaged over the latent dimensions"),
    ("vae_loss", "sigmoid before BCE with logits"),
    ("interpolate", "endpoint excluded"),
    ("vae_train_step", "no zero_grad"),
    ("vae_train_step", "wraps course_lib"),
]

# The mistakes the notebook's visible checks catch before the student submits (each raises there);
# the others only the hidden tests catch. The trial of issue 13 found the marked ones let through.
VISIBLE = {
    "reparameterize": ["variance instead of standard deviation", "logvar used as the standard deviation", "mu detached",
                       "drawn under no_grad", "ignores the given noise", "imports course_lib"],
    "kl_divergence": ["sign flipped", "averaged over the latent dimensions",
                      "summed over the batch",  # trial: the checks used one example (a batch of two now)
                      "one value per example", "shape (1,) instead of 0-dim", "a Python float"],
    "vae_loss": ["sigmoid before BCE with logits", "reconstruction averaged over pixels", "beta on the reconstruction term",
                 "summed over the batch", "squared error on probabilities"],
    "interpolate": ["endpoint excluded", "slerp done as linear", "weights swapped", "a list instead of a tensor",
                    "slerp divides by sin(0)"],  # trial: no small-angle fallback (a path from a vector to itself now)
    "vae_train_step": ["no zero_grad", "no optimizer.step", "zero_grad between backward and step",
                       "returns the loss tensor", "wraps course_lib"],
}
