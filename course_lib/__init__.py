"""course_lib: the shared PyTorch library of the Generative Deep Learning course.

Modules:
    config       seeding, device choice, the compute budget (``$COURSE_BUDGET``)
    data         MNIST (with an offline fallback) and the course's procedural datasets
    naive_bayes  naive Bayes as a generative model of categorical tables
    plotting     image grids and training curves
    models       the networks, one file per model family (classifiers, autoencoders, VAE, DCGAN,
                 WGAN critic, CycleGAN, 2-D toys)
    losses       the losses as pure functions of tensors, each with its reduction documented
    sampling     reparameterization, prior samples, interpolation
    training     step functions per model family and the one training loop, ``fit``
    metrics      negative ELBO, reconstruction error, Frechet distance, classifier score, ...
    pretrained   classifiers shared by several chapters, trained once and then loaded
    results      measured results of each chapter, for the book's results appendix
"""
from .config import Budget, get_budget, get_device, seed_everything

__version__ = "0.1.0"
__all__ = ["Budget", "get_budget", "get_device", "seed_everything", "__version__"]
