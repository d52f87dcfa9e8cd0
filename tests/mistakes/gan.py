"""Real mistakes in the graded functions of the `gan` assignment (solutions/gan/gan.ipynb).

``MISTAKES[function][name] = (source, words)``: ``source`` replaces the solution cell of ``function``
(it defines a function of that name, in the notebook's namespace: ``torch``, ``F``, ``math`` and
the other graded functions are there), and the message of the failing hidden test must contain
``words``. ``CORRECT_VARIANTS[function]`` are other correct ways to write it, which must earn full
marks even though they write to stderr. Used by tests/test_assignment_vae_gan.py, in process and
through nbgrader.
"""
import textwrap

ASSIGNMENT = "gan"
POINTS = {"discriminator_loss": 3, "generator_loss": 2, "gan_train_step": 5}
LIBRARY = ("course_lib.losses", "course_lib.training")


def _fn(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


def _step(d_update: str, g_update: str, head: str = "z = torch.randn(real.shape[0], latent_dim)\nfake = generator(z)",
          tail: str = 'return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}') -> str:
    """A gan_train_step made of its parts (each part is dedented, then indented into the body)."""
    body = "\n".join(textwrap.dedent(part).strip() for part in (head, d_update, g_update, tail))
    return ("def gan_train_step(generator, discriminator, g_optimizer, d_optimizer, real, latent_dim):\n"
            + textwrap.indent(body, "    ") + "\n")


D_UPDATE = """
    d_optimizer.zero_grad()
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_loss.backward()
    d_optimizer.step()
"""
G_UPDATE = """
    g_optimizer.zero_grad()
    g_loss = generator_loss(discriminator(fake))
    g_loss.backward()
    g_optimizer.step()
"""

MISTAKES = {
    "discriminator_loss": {
        "labels swapped": (_fn("""
            def discriminator_loss(real_logits, fake_logits):
                return (F.binary_cross_entropy_with_logits(real_logits, torch.zeros_like(real_logits))
                        + F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)))
            """), "swaps the labels"),
        "the two terms averaged": (_fn("""
            def discriminator_loss(real_logits, fake_logits):
                real_term = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                fake_term = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
                return (real_term + fake_term) / 2
            """), "averages them"),
        "one average over real and fake together": (_fn("""
            def discriminator_loss(real_logits, fake_logits):
                logits = torch.cat([real_logits.flatten(), fake_logits.flatten()])
                labels = torch.cat([torch.ones(real_logits.numel()), torch.zeros(fake_logits.numel())])
                return 2 * F.binary_cross_entropy_with_logits(logits, labels)
            """), "together"),
        "sigmoid before BCE with logits": (_fn("""
            def discriminator_loss(real_logits, fake_logits):
                real, fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
                return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
            """), "sigmoid"),
        "log of sigmoid (unstable)": (_fn("""
            def discriminator_loss(real_logits, fake_logits):
                return -torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()
            """), "binary_cross_entropy_with_logits"),
        "summed over the batch": (_fn("""
            def discriminator_loss(real_logits, fake_logits):
                return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits), reduction="sum")
                        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction="sum"))
            """), "sums over the batch"),
        "shape (1,) instead of 0-dim": (_fn("""
            def discriminator_loss(real_logits, fake_logits):
                loss = torch.zeros(1)
                loss += F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                loss += F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
                return loss
            """), "0-dim"),
        "imports course_lib": (_fn("""
            from course_lib.losses import discriminator_loss
            """), "own code"),
    },
    "generator_loss": {
        "saturating loss": (_fn("""
            def generator_loss(fake_logits):
                return torch.log(1 - torch.sigmoid(fake_logits)).mean()
            """), "saturating"),
        "label 0 for the fakes": (_fn("""
            def generator_loss(fake_logits):
                return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            """), "label 1"),
        "sign flipped": (_fn("""
            def generator_loss(fake_logits):
                return -F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
            """), "sign"),
        "sigmoid before BCE with logits": (_fn("""
            def generator_loss(fake_logits):
                probabilities = torch.sigmoid(fake_logits)
                return F.binary_cross_entropy_with_logits(probabilities, torch.ones_like(probabilities))
            """), "sigmoid"),
        "sigmoid then binary_cross_entropy": (_fn("""
            def generator_loss(fake_logits):
                probabilities = torch.sigmoid(fake_logits)
                return F.binary_cross_entropy(probabilities, torch.ones_like(probabilities))
            """), "binary_cross_entropy_with_logits"),
        "summed over the batch": (_fn("""
            def generator_loss(fake_logits):
                return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits), reduction="sum")
            """), "sums"),
    },
    "gan_train_step": {
        "fake not detached in the D update": (_step("""
            d_optimizer.zero_grad()
            d_loss = discriminator_loss(discriminator(real), discriminator(fake))
            d_loss.backward()
            d_optimizer.step()
            """, """
            g_optimizer.zero_grad()
            g_loss = generator_loss(discriminator(generator(z)))
            g_loss.backward()
            g_optimizer.step()
            """), "fake.detach()"),
        "fake not detached, G gradients polluted": (_step("""
            d_optimizer.zero_grad()
            g_optimizer.zero_grad()
            d_loss = discriminator_loss(discriminator(real), discriminator(fake))
            d_loss.backward(retain_graph=True)
            d_optimizer.step()
            """, """
            g_loss = generator_loss(discriminator(fake))
            g_loss.backward()
            g_optimizer.step()
            """), "detach"),
        "no zero_grad for D": (_step("""
            d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
            d_loss.backward()
            d_optimizer.step()
            """, G_UPDATE), "d_optimizer.zero_grad()"),
        "no zero_grad for G": (_step(D_UPDATE, """
            g_loss = generator_loss(discriminator(fake))
            g_loss.backward()
            g_optimizer.step()
            """), "g_optimizer.zero_grad()"),
        "G update with the D optimizer": (_step(D_UPDATE, """
            d_optimizer.zero_grad()
            g_loss = generator_loss(discriminator(fake))
            g_loss.backward()
            d_optimizer.step()
            """), "step g_optimizer"),
        "D update on real examples only": (_step("""
            d_optimizer.zero_grad()
            real_logits = discriminator(real)
            d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            d_loss.backward()
            d_optimizer.step()
            """, G_UPDATE), "both the real and the fake"),
        "saturating generator update": (_step(D_UPDATE, """
            g_optimizer.zero_grad()
            g_loss = torch.log(1 - torch.sigmoid(discriminator(fake))).mean()
            g_loss.backward()
            g_optimizer.step()
            """), "one SGD step on generator_loss"),
        "G updated before D": (_step(G_UPDATE, D_UPDATE), "discriminator first"),
        "fakes detached in the G update": (_step(D_UPDATE, """
            g_optimizer.zero_grad()
            g_loss = generator_loss(discriminator(fake.detach()))
            g_loss.backward()
            g_optimizer.step()
            """), "no gradient reached the generator"),
        "uniform noise": (_step(D_UPDATE, G_UPDATE, head="""
            z = torch.rand(real.shape[0], latent_dim)
            fake = generator(z)
            """), "standard normal"),
        "D left frozen": (_step(D_UPDATE, """
            for p in discriminator.parameters():
                p.requires_grad_(False)
            g_optimizer.zero_grad()
            g_loss = generator_loss(discriminator(fake))
            g_loss.backward()
            g_optimizer.step()
            """), "still require gradients"),
        "returns tensors": (_step(D_UPDATE, G_UPDATE, tail='return {"d_loss": d_loss, "g_loss": g_loss}'),
                            "Python float"),
    },
}

# Other correct ways to write each function: they must earn full marks, even though they write to stderr.
CORRECT_VARIANTS = {
    "discriminator_loss": _fn("""
        def discriminator_loss(real_logits, fake_logits):
            import warnings
            warnings.warn("a warning from the student's code")
            return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        """),
    "generator_loss": _fn("""
        def generator_loss(fake_logits):
            return -F.logsigmoid(fake_logits).mean()
        """),
    "gan_train_step": _fn("""
        def gan_train_step(generator, discriminator, g_optimizer, d_optimizer, real, latent_dim):
            import sys
            n = real.size(0)
            with torch.no_grad():
                fake = generator(torch.randn(n, latent_dim, device=real.device))
            logits = discriminator(torch.cat([real, fake]))
            d_loss = discriminator_loss(logits[:n], logits[n:])
            discriminator.zero_grad()
            d_loss.backward()
            d_optimizer.step()
            print(f"d_loss {d_loss.item():.3f}", file=sys.stderr)
            for p in discriminator.parameters():
                p.requires_grad_(False)
            try:
                g_loss = generator_loss(discriminator(generator(torch.randn(n, latent_dim))))
                generator.zero_grad(set_to_none=False)
                g_loss.backward()
                g_optimizer.step()
            finally:
                for p in discriminator.parameters():
                    p.requires_grad_(True)
            return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "d_fake": torch.sigmoid(logits[n:]).mean().item()}
        """),
}

# The mistakes that go through a real nbgrader autograde by default (every graded function, and the
# course_lib import); COURSE_GRADING_ROUND_TRIP=all sends the whole bank.
ROUND_TRIP = [
    ("discriminator_loss", "labels swapped"),
    ("discriminator_loss", "the two terms averaged"),
    ("discriminator_loss", "imports course_lib"),
    ("generator_loss", "saturating loss"),
    ("gan_train_step", "fake not detached in the D update"),
    ("gan_train_step", "no zero_grad for D"),
    ("gan_train_step", "G update with the D optimizer"),
    ("gan_train_step", "D update on real examples only"),
]
