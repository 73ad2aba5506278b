"""Architecture registry: one name in params.yaml (``arch``) -> a (generator, discriminator) pair."""

from __future__ import annotations

from typing import Callable

from ..errors import ConfigError


def _dense(*, latent_dim, image_shape):
    from . import dense

    return (
        dense.build_generator(latent_dim=latent_dim, image_shape=image_shape),
        dense.build_discriminator(image_shape=image_shape),
    )


REGISTRY: dict[str, Callable] = {"dense": _dense}


def build_gan_models(arch: str, *, latent_dim: int, image_shape: tuple[int, ...]):
    """Return fresh ``(generator, discriminator)`` Keras models for architecture ``arch``."""
    try:
        builder = REGISTRY[arch]
    except KeyError:
        raise ConfigError(f"arch: unknown architecture '{arch}' (valid: {', '.join(sorted(REGISTRY))})") from None
    return builder(latent_dim=latent_dim, image_shape=tuple(image_shape))
