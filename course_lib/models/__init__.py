"""The course's neural networks: plain ``nn.Module``s that return raw tensors (logits or scores).

==============  =======================================================================
module          models
==============  =======================================================================
classifiers     MLPClassifier, CNNClassifier (the feature extractor of the sample-quality
                metrics), AttributeClassifier (multi-label)
autoencoder     DenseAutoencoder, LinearAutoencoder, ConvAutoencoder, TiedLinear, add_noise
vae             ConvVAE
dcgan           DCGANGenerator, DCGANDiscriminator, dcgan_init_
wgan            WGANCritic
toy             MLPGenerator, MLPDiscriminator (2-D toy data)
cyclegan        ResnetGenerator, PatchDiscriminator
blocks          shared layers, count_parameters
==============  =======================================================================
"""
from .autoencoder import ConvAutoencoder, DenseAutoencoder, LinearAutoencoder, TiedLinear, add_noise
from .blocks import SUPPORTED_IMAGE_SIZES, count_parameters
from .classifiers import AttributeClassifier, CNNClassifier, MLPClassifier
from .cyclegan import PatchDiscriminator, ResidualBlock, ResnetGenerator
from .dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init_
from .toy import MLPDiscriminator, MLPGenerator
from .vae import ConvVAE
from .wgan import WGANCritic

__all__ = [
    "AttributeClassifier",
    "CNNClassifier",
    "ConvAutoencoder",
    "ConvVAE",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "DenseAutoencoder",
    "LinearAutoencoder",
    "MLPClassifier",
    "MLPDiscriminator",
    "MLPGenerator",
    "PatchDiscriminator",
    "ResidualBlock",
    "ResnetGenerator",
    "SUPPORTED_IMAGE_SIZES",
    "TiedLinear",
    "WGANCritic",
    "add_noise",
    "count_parameters",
    "dcgan_init_",
]
