"""course_lib: the shared PyTorch library of the Generative Deep Learning course.

Modules:
    config       seeding, device choice, the compute budget (``$COURSE_BUDGET``)
    data         MNIST (with an offline fallback) and the course's procedural datasets
    naive_bayes  naive Bayes as a generative model of categorical tables
    plotting     image grids and training curves
"""
from .config import Budget, get_budget, get_device, seed_everything

__version__ = "0.1.0"
__all__ = ["Budget", "get_budget", "get_device", "seed_everything", "__version__"]
