"""Real mistakes in the `wgan_gp` assignment, for the hidden tests to catch.

``MISTAKES[function][name] = (source, words)``: ``source`` replaces the solution cell of ``function``
(it defines that function, wrongly); the hidden tests must take that function's points, and only
those, with a message that holds ``words``. ``CORRECT_VARIANTS[function]`` are other correct ways
to write it (some chatter on stderr or warn): they must earn full marks.
"""
import textwrap

ASSIGNMENT = "wgan_gp"
POINTS = {"critic_loss": 2, "wasserstein_generator_loss": 1, "clip_weights": 1, "gradient_penalty": 4,
          "critic_train_step": 2}


def _fn(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


# The solution's gradient_penalty with one piece changed (the pieces are named in the comments).
_PENALTY = """
def gradient_penalty(critic, real, fake, eps=None):
    n = real.shape[0]
    per_example = (n,) + (1,) * (real.dim() - 1)
    if eps is None:
        eps = {draw}
    else:
        eps = torch.as_tensor(eps, dtype=real.dtype)
        if eps.dim() == 1 and eps.shape[0] == n:
            eps = {reshape}
    x_hat = ({interpolate}).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph={create_graph})
    grad_norm = {norm}
    return {penalty}
"""
_PENALTY_PARTS = {"draw": "torch.rand(per_example)", "reshape": "eps.view(per_example)",
                  "interpolate": "eps * real.detach() + (1 - eps) * fake.detach()", "create_graph": "True",
                  "norm": "grad.flatten(1).norm(2, dim=1)", "penalty": "(grad_norm - 1).pow(2).mean()"}


def _penalty(**changes: str) -> str:
    return _fn(_PENALTY.format(**{**_PENALTY_PARTS, **changes}))


# The solution's critic_train_step with one piece changed.
_STEP = """
def critic_train_step(generator, critic, c_optimizer, real, latent_dim, gp_weight=10.0):
    {make_fake}
    c_loss = {critic_loss}
    penalty = gradient_penalty(critic, real, fake)
    loss = {total}
    {update}
    return {{"loss": {value}, "critic_loss": c_loss.item(), "gradient_penalty": penalty.item()}}
"""
_STEP_PARTS = {
    "make_fake": "with torch.no_grad():\n        fake = generator(torch.randn(real.shape[0], latent_dim))",
    "critic_loss": "critic_loss(critic(real), critic(fake))",
    "total": "c_loss + gp_weight * penalty",
    "update": "c_optimizer.zero_grad()\n    loss.backward()\n    c_optimizer.step()",
    "value": "loss.item()",
}


def _step(**changes: str) -> str:
    return _fn(_STEP.format(**{**_STEP_PARTS, **changes}))


MISTAKES = {
    "critic_loss": {
        "sign flipped": (_fn("""
            def critic_loss(real_scores, fake_scores):
                return real_scores.mean() - fake_scores.mean()
            """), "sign is flipped"),
        "sums instead of means": (_fn("""
            def critic_loss(real_scores, fake_scores):
                return fake_scores.sum() - real_scores.sum()
            """), "average each term over its own batch"),
        "one mean over both batches": (_fn("""
            def critic_loss(real_scores, fake_scores):
                return torch.cat([fake_scores, -real_scores]).mean()
            """), "average each term over its own batch"),
        "mean of the differences (needs equal batches)": (_fn("""
            def critic_loss(real_scores, fake_scores):
                return (fake_scores - real_scores).mean()
            """), "raised RuntimeError"),
        "returns a Python float": (_fn("""
            def critic_loss(real_scores, fake_scores):
                return (fake_scores.mean() - real_scores.mean()).item()
            """), "Python float"),
        "rebuilds the tensor (no gradient)": (_fn("""
            def critic_loss(real_scores, fake_scores):
                return torch.tensor(fake_scores.mean().item() - real_scores.mean().item())
            """), "differentiable"),
        "binary cross-entropy of a GAN discriminator": (_fn("""
            import torch.nn.functional as F
            def critic_loss(real_scores, fake_scores):
                return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
            """), "mean(fake) - mean(real)"),
        "wraps course_lib": (_fn("""
            import course_lib.losses as reference
            def critic_loss(real_scores, fake_scores):
                return reference.critic_loss(real_scores, fake_scores)
            """), "own code"),
    },
    "wasserstein_generator_loss": {
        "sign flipped": (_fn("""
            def wasserstein_generator_loss(fake_scores):
                return fake_scores.mean()
            """), "sign is flipped"),
        "sum instead of mean": (_fn("""
            def wasserstein_generator_loss(fake_scores):
                return -fake_scores.sum()
            """), "-sum(fake scores)"),
        "non-saturating GAN loss": (_fn("""
            import torch.nn.functional as F
            def wasserstein_generator_loss(fake_scores):
                return F.softplus(-fake_scores).mean()
            """), "-mean(fake) = -2"),
        "imports course_lib": (_fn("""
            from course_lib.losses import wasserstein_generator_loss
            """), "course_lib"),
        "calls course_lib through importlib": (_fn("""
            import importlib
            def wasserstein_generator_loss(fake_scores):
                return importlib.import_module("course_lib." + "losses").wasserstein_generator_loss(fake_scores)
            """), "course_lib"),
    },
    "clip_weights": {
        "weights only, not biases": (_fn("""
            def clip_weights(critic, clip_value):
                for name, parameter in critic.named_parameters():
                    if "weight" in name:
                        parameter.data.clamp_(-clip_value, clip_value)
            """), "every parameter"),
        "clamps a copy": (_fn("""
            def clip_weights(critic, clip_value):
                for parameter in critic.parameters():
                    parameter = parameter.clamp(-clip_value, clip_value)
            """), "left every parameter unchanged"),
        "replaces the parameters": (_fn("""
            def clip_weights(critic, clip_value):
                for module in critic.modules():
                    for name, parameter in list(module.named_parameters(recurse=False)):
                        setattr(module, name, nn.Parameter(parameter.detach().clamp(-clip_value, clip_value)))
            """), "in place"),
        "upper bound only": (_fn("""
            def clip_weights(critic, clip_value):
                with torch.no_grad():
                    for parameter in critic.parameters():
                        parameter.clamp_(max=clip_value)
            """), "should lie in"),
        "top-level layers only": (_fn("""
            def clip_weights(critic, clip_value):
                with torch.no_grad():
                    for layer in critic.children():
                        if isinstance(layer, nn.Linear):
                            layer.weight.clamp_(-clip_value, clip_value)
                            layer.bias.clamp_(-clip_value, clip_value)
            """), "every parameter"),
        "clips the state dict (buffers too)": (_fn("""
            def clip_weights(critic, clip_value):
                for tensor in critic.state_dict().values():
                    if tensor.is_floating_point():
                        tensor.clamp_(-clip_value, clip_value)
            """), "buffer"),
        "in place without no_grad": (_fn("""
            def clip_weights(critic, clip_value):
                for parameter in critic.parameters():
                    parameter.clamp_(-clip_value, clip_value)
            """), "raised RuntimeError"),
        "calls course_lib through importlib": (_fn("""
            import importlib
            def clip_weights(critic, clip_value):
                importlib.import_module("course_lib.training").clip_weights(critic, clip_value)
            """), "course_lib"),
    },
    "gradient_penalty": {
        "per-pixel eps": (_penalty(draw="torch.rand_like(real)"), "differs between the pixels"),
        "one eps for the whole batch": (_penalty(draw="torch.rand(1)"), "same eps for the whole batch"),
        "eps from a normal distribution": (_penalty(draw="torch.randn(per_example)"), "uniform"),
        "eps from a fixed seed": (_penalty(draw="torch.rand(per_example, generator=torch.Generator().manual_seed(0))"),
                                  "afresh"),
        "eps of shape (N,) reshaped to (N, 1)": (_penalty(reshape="eps.view(-1, 1)"), "raised RuntimeError"),
        "eps on the fake side": (_penalty(interpolate="eps * fake.detach() + (1 - eps) * real.detach()"),
                                 "weight eps to fake"),
        "norm over dim 1 only": (_penalty(norm="grad.norm(2, dim=1)"), "channel dimension only"),
        "norm over the whole batch": (_penalty(norm="grad.norm(2)"), "whole batch"),
        "create_graph=False": (_penalty(create_graph="False"), "create_graph=True"),
        "detached gradient": (_penalty(norm="grad.detach().flatten(1).norm(2, dim=1)"), "create_graph=True"),
        "no square": (_penalty(penalty="(grad_norm - 1).mean()"), "without the square"),
        "squared norm": (_penalty(norm="grad.flatten(1).pow(2).sum(1)"), "squared norm"),
        "one-sided penalty": (_penalty(penalty="(grad_norm - 1).clamp(min=0).pow(2).mean()"), "two-sided"),
        "sum over the batch": (_penalty(penalty="(grad_norm - 1).pow(2).sum()"), "sum over the batch"),
        "backward instead of autograd.grad": (_fn("""
            def gradient_penalty(critic, real, fake, eps=None):
                n = real.shape[0]
                per_example = (n,) + (1,) * (real.dim() - 1)
                eps = torch.rand(per_example) if eps is None else torch.as_tensor(eps).reshape(per_example)
                x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
                critic(x_hat).sum().backward(create_graph=True)
                return (x_hat.grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
            """), ".backward()"),
        "grad_outputs of shape (N,) for (N, 1) scores": (_fn("""
            def gradient_penalty(critic, real, fake, eps=None):
                n = real.shape[0]
                per_example = (n,) + (1,) * (real.dim() - 1)
                eps = torch.rand(per_example) if eps is None else torch.as_tensor(eps).reshape(per_example)
                x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
                scores = critic(x_hat)
                (grad,) = torch.autograd.grad(scores, x_hat, grad_outputs=torch.ones(n), create_graph=True)
                return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
            """), "scores of shape (4, 1)"),
        "imports course_lib": (_fn("""
            from course_lib.losses import gradient_penalty
            """), "course_lib"),
    },
    "critic_train_step": {
        "fakes not detached": (_step(make_fake="fake = generator(torch.randn(real.shape[0], latent_dim))"),
                               "gradients into the generator"),
        "no zero_grad": (_step(update="loss.backward()\n    c_optimizer.step()"), "zero_grad"),
        "no optimizer step": (_step(update="c_optimizer.zero_grad()\n    loss.backward()"), "did not change"),
        "zero_grad between backward and step": (
            _step(update="loss.backward()\n    c_optimizer.zero_grad()\n    c_optimizer.step()"), "did not change"),
        "gp_weight ignored": (_step(total="c_loss + 10.0 * penalty"), "gp_weight = 10 instead"),
        "penalty without its weight": (_step(total="c_loss + penalty"), "without gp_weight"),
        "no penalty": (_step(total="c_loss"), "without the penalty"),
        "critic loss sign flipped": (_step(critic_loss="critic(real).mean() - critic(fake).mean()"), "sign"),
        "returns the loss tensor": (_step(value="loss"), "Python float"),
        "a fixed number of fakes": (_step(make_fake="with torch.no_grad():\n        fake = generator(torch.randn(64, latent_dim))"),
                                    "one fake per real example"),
        "the penalty written out with a random eps": (_fn("""
            def critic_train_step(generator, critic, c_optimizer, real, latent_dim, gp_weight=10.0):
                with torch.no_grad():
                    fake = generator(torch.randn(real.shape[0], latent_dim))
                eps = torch.rand(real.shape[0], 1)
                x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
                (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
                loss = critic(fake).mean() - critic(real).mean() + gp_weight * (grad.norm(dim=1) - 1).pow(2).mean()
                c_optimizer.zero_grad()
                loss.backward()
                c_optimizer.step()
                return {"loss": loss.item()}
            """), "call your gradient_penalty"),
    },
}

CORRECT_VARIANTS = {
    "critic_loss": _fn("""
        def critic_loss(real_scores, fake_scores):
            print("critic loss of", real_scores.shape, fake_scores.shape, file=sys.stderr)
            warnings.warn("a warning from the student's code")
            return torch.mean(fake_scores) - torch.mean(real_scores)
        """),
    "wasserstein_generator_loss": _fn("""
        def wasserstein_generator_loss(fake_scores):
            return -(fake_scores.sum() / fake_scores.numel())
        """),
    "clip_weights": _fn("""
        def clip_weights(critic, clip_value):
            print("clipping", sum(p.numel() for p in critic.parameters()), "weights", file=sys.stderr)
            for p in critic.parameters():
                p.data.clamp_(-clip_value, clip_value)
            return critic
        """),
    "gradient_penalty": _fn("""
        def gradient_penalty(critic, real, fake, eps=None):
            warnings.warn("computing a gradient penalty")
            batch_size = real.size(0)
            shape = [batch_size] + [1] * (real.dim() - 1)
            if eps is None:
                eps = torch.empty(shape).uniform_(0, 1)
            elif eps.dim() == 1 and eps.numel() == batch_size:
                eps = eps.reshape(shape)
            interpolates = real.detach() + eps * (fake.detach() - real.detach())
            interpolates = (1 - eps) * fake.detach() + eps * real.detach()
            interpolates = torch.autograd.Variable(interpolates, requires_grad=True)
            scores = critic(interpolates)
            gradients = torch.autograd.grad(outputs=scores, inputs=interpolates, grad_outputs=torch.ones_like(scores),
                                            create_graph=True, retain_graph=True, only_inputs=True)[0]
            gradients = gradients.view(batch_size, -1)
            return ((gradients.pow(2).sum(dim=1) + 1e-12).sqrt() - 1).pow(2).mean()
        """),
    "critic_train_step": _fn("""
        def critic_train_step(generator, critic, c_optimizer, real, latent_dim, gp_weight=10.0):
            critic.zero_grad()
            z = torch.randn(real.size(0), latent_dim)
            fake = generator(z).detach()
            wasserstein = critic(real).mean() - critic(fake).mean()
            penalty = gradient_penalty(critic, real, fake)
            loss = -wasserstein + gp_weight * penalty
            loss.backward()
            c_optimizer.step()
            print(f"critic loss {loss.item():.3f}", file=sys.stderr)
            return {"loss": float(loss), "wasserstein_distance": wasserstein.item()}
        """),
}

# The mistakes the notebook's visible checks catch before the student submits (each raises there);
# the others only the hidden tests catch. The trial of issue 13 found the marked ones let through.
VISIBLE = {
    "critic_loss": ["sign flipped", "sums instead of means", "one mean over both batches",
                    "mean of the differences (needs equal batches)", "returns a Python float",
                    "binary cross-entropy of a GAN discriminator", "wraps course_lib"],
    "wasserstein_generator_loss": ["sign flipped", "sum instead of mean", "non-saturating GAN loss", "imports course_lib",
                                   "calls course_lib through importlib"],
    "clip_weights": ["weights only, not biases", "clamps a copy", "replaces the parameters", "upper bound only",
                     "top-level layers only", "in place without no_grad", "calls course_lib through importlib"],
    "gradient_penalty": ["per-pixel eps",  # trial: checked only on 2-D points (an image-shaped batch now)
                         "norm over dim 1 only",  # trial: the same
                         "norm over the whole batch", "create_graph=False", "detached gradient", "squared norm",
                         "sum over the batch", "grad_outputs of shape (N,) for (N, 1) scores", "imports course_lib"],
    "critic_train_step": ["fakes not detached",
                          "no zero_grad",  # trial: .grad was empty on the first call (a call with gradients present now)
                          "no optimizer step", "zero_grad between backward and step", "returns the loss tensor",
                          "a fixed number of fakes"],
}
