"""The (generator, discriminator) pair of a TrainConfig, built the way training needs it."""

from __future__ import annotations

from . import distribute, precision


def build_networks(cfg, image_shape: tuple[int, ...], *, seed: int, strategy=None):
    """Fresh ``(generator, discriminator)`` for ``cfg`` (a TrainConfig) on examples of ``image_shape``.

    Weights are initialised from ``seed``; layers take ``cfg.precision``'s dtype policy (the global
    policy is restored afterwards); variables are created under ``strategy``'s scope (None: one
    device), and with more than one replica BatchNormalization uses the global batch's statistics.
    Raises ConfigError (from the registry) for a bad ``arch`` or ``model``.
    """
    import keras

    from ..models.registry import build_gan_models

    keras.utils.set_random_seed(seed)
    with distribute.scope(strategy), precision.dtype_policy(cfg.precision):
        generator, discriminator = build_gan_models(cfg.arch, latent_dim=cfg.latent_dim, image_shape=image_shape,
                                                    options=cfg.model)
    if distribute.replicas(strategy) > 1:
        distribute.synchronize_batch_norm(generator, discriminator)
    return generator, discriminator
