"""Neural restoration models: the Attentive GAN (generator and discriminator)."""

from agan.models.attentive import (
    AttentiveDiscriminator,
    AttentiveGenerator,
    DiscriminatorOutput,
    GeneratorOutput,
    count_parameters,
    pad_to_multiple,
    pad_to_size,
)

__all__ = [
    "AttentiveDiscriminator",
    "AttentiveGenerator",
    "DiscriminatorOutput",
    "GeneratorOutput",
    "count_parameters",
    "pad_to_multiple",
    "pad_to_size",
]
