"""Chapter 7's MNIST WGAN (weight clipping) at the cpu budget with one setting changed: how the recipe was chosen.

    python benchmarks/wgan_mnist_recipe.py NAME LR EPOCHS N_CRITIC EMA_DECAY NORM OPT BASE_CHANNELS [G_LR]
    e.g. python benchmarks/wgan_mnist_recipe.py book 5e-4 20 1 0.99 batch rms 32

Prints one JSON line: training seconds, generator updates (rounds), and the Frechet distance ratio
(samples / real held out) and classifier score of 1000 samples, from the trained generator ("raw")
and from an exponential moving average of its weights ("ema"). OPT is "rms" (RMSprop) or "adam"
(betas 0.5, 0.999). Time it on a quiet machine.
"""
import sys, time, copy, json
import torch
from course_lib.config import get_budget, seed_everything
from course_lib.data import load_mnist
from course_lib.metrics import sample_quality_report
from course_lib.models import DCGANGenerator, WGANCritic
from course_lib.pretrained import mnist_classifier
from course_lib.training import fit, make_loader, wgan_train_step, evaluating
from course_lib.training.dcgan import update_ema_

name, lr, epochs, n_critic, ema, norm, opt, base = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7], int(sys.argv[8])
glr = float(sys.argv[9]) if len(sys.argv) > 9 else lr
budget = get_budget("cpu")
torch.set_num_threads(2)
mnist = load_mnist(max_train=budget.max_train_examples, max_test=budget.max_eval_examples)
latent_dim, batch_size, clip = 100, 64, 0.01
seed_everything(0)
G = DCGANGenerator(latent_dim=latent_dim, out_channels=1, image_size=28, base_channels=base)
C = WGANCritic(in_channels=1, image_size=28, base_channels=base, norm=norm)
if opt == "rms":
    g_opt = torch.optim.RMSprop(G.parameters(), lr=glr); c_opt = torch.optim.RMSprop(C.parameters(), lr=lr)
else:
    g_opt = torch.optim.Adam(G.parameters(), lr=glr, betas=(0.5, 0.999)); c_opt = torch.optim.Adam(C.parameters(), lr=lr, betas=(0.5, 0.999))
G_ema = copy.deepcopy(G)
loader = make_loader(mnist.x_train * 2 - 1, batch_size=n_critic * batch_size, budget=budget, seed=0, drop_last=True)
def step(batch):
    out = wgan_train_step(G, C, g_opt, c_opt, batch[0], latent_dim, n_critic=n_critic, clip_value=clip)
    update_ema_(G_ema, G, ema)  # no warm-up (as measured for the note)
    return out
t = time.perf_counter()
res = fit(step, loader, epochs=epochs, progress=False)
secs = time.perf_counter() - t
clf = mnist_classifier(budget)
noise = torch.randn(1000, latent_dim, generator=torch.Generator().manual_seed(3))
out = {"name": name, "secs": round(secs, 1), "rounds": epochs * len(loader)}
for tag, g in (("raw", G), ("ema", G_ema)):
    with evaluating(g):
        fake = g(noise)
    q = sample_quality_report(mnist.x_test, (fake + 1) / 2, clf)
    out[tag] = (round(float(q.loc["generated", "frechet_distance"] / q.loc["real (held out)", "frechet_distance"]), 2),
                round(float(q.loc["generated", "classifier_score"]), 2))
print(json.dumps(out), flush=True)
