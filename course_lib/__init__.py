"""course_lib: the shared PyTorch library of the Generative Deep Learning course.

Modules (a package is a folder of small files, one subject each):
    config       seeding, device choice, the compute budget (``$COURSE_BUDGET``)
    checks       the input checks shared by losses, sampling, metrics and training
    data/        datasets, one file per family: MNIST (offline copy cached), Wrodl, Planet Pixel
                 and the unpaired translation task, 2-D toys, real datasets; the download helper
    naive_bayes  naive Bayes as a generative model of categorical tables
    plotting     image grids and training curves
    models/      the networks, one file per model family (classifiers, autoencoders, VAE, DCGAN,
                 WGAN critic, CycleGAN, 2-D toys)
    losses       the losses as pure functions of tensors, each with its reduction documented
    sampling     reparameterization, prior samples, interpolation
    training/    step functions, one file per model family (mirroring models/), the training
                 loop ``fit``, checkpoints (with fingerprints), loaders
    metrics      negative ELBO, reconstruction error, Frechet distance, classifier score, ...
    pretrained   classifiers shared by several chapters, trained once and then loaded
    results      measured results of each chapter, for the book's results appendix
    grading/     everything that grades the assignments: ``grading.kernel`` (the checks that run in the
                 student's kernel) and the ``course-grade`` command (release, autograde, feedback,
                 export, report)
"""
from .config import Budget, get_budget, get_device, seed_everything

__version__ = "0.1.0"
__all__ = ["Budget", "get_budget", "get_device", "seed_everything", "__version__"]
