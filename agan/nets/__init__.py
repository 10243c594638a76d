"""The networks: the Attentive GAN generator and discriminator, their shared layers, and the
table of architectures (``architectures``: the Attentive GAN, DnCNN, U-Net) with the builder of a
network from a checkpoint."""

from agan.nets.discriminator import AttentiveDiscriminator, DiscriminatorOutput
from agan.nets.generator import AttentiveGenerator, GeneratorOutput
from agan.nets.layers import count_parameters, pad_to_multiple, pad_to_size

__all__ = [
    "AttentiveDiscriminator",
    "AttentiveGenerator",
    "DiscriminatorOutput",
    "GeneratorOutput",
    "count_parameters",
    "pad_to_multiple",
    "pad_to_size",
]
