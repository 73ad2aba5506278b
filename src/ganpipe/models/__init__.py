"""Architecture registry: ``arch`` in params.yaml -> a builder of a (generator, discriminator) pair.

Each builder is ``build(*, latent_dim, image_shape, **options)``; ``options`` is the section's
``model`` mapping, whose keys are the builder's keyword-only parameters. Modules are imported on
first use, so reading the registry's names costs nothing.

Layers take the global Keras dtype policy in force while a builder runs (see
ganpipe.training.precision), except each network's named output layer ("image", "value",
"validity"), which is OUTPUT_DTYPE: under mixed precision the generator still returns float32
images and the discriminator float32 probabilities, so losses are computed in float32. (In the
dense generators "image" is the final Reshape: their last Dense stays in bfloat16 and only its
tanh output is widened; an explicit float32 policy leaves float32 models' weights and outputs as
they were.)
"""

from __future__ import annotations

import importlib
import inspect

from ..errors import ConfigError

OUTPUT_DTYPE = "float32"  # the dtype policy of every network's output layer, whatever the global one


def image_head(x, image_shape: tuple[int, ...]):
    """A dense generator's output: Dense(prod(image_shape), tanh), reshaped to the images as "image" (OUTPUT_DTYPE)."""
    import math

    from keras import layers

    x = layers.Dense(math.prod(image_shape), activation="tanh")(x)
    return layers.Reshape(image_shape, name="image", dtype=OUTPUT_DTYPE)(x)


def validity_head(x):
    """Every discriminator's output: Dense(1, sigmoid) named "validity", in OUTPUT_DTYPE."""
    from keras import layers

    return layers.Dense(1, activation="sigmoid", name="validity", dtype=OUTPUT_DTYPE)(x)

REGISTRY: dict[str, str] = {
    "dense": "ganpipe.models.dense:build",
    "dcgan64": "ganpipe.models.dcgan:build_dcgan64",
    "dcgan32": "ganpipe.models.dcgan:build_dcgan32",
    "dcgan28": "ganpipe.models.dcgan:build_dcgan28",
    "dense_small": "ganpipe.models.mlp:build_dense_small",
    "dense_sgd": "ganpipe.models.mlp:build_dense_sgd",
    "mlp_dropout": "ganpipe.models.mlp:build_mlp_dropout",
    "gauss1d": "ganpipe.models.mlp:build_gauss1d",
}


# the architectures built of convolutions: what the `auto` rules ask of a network (ganpipe.training.hardware)
CONVOLUTIONAL_ARCHS = frozenset({"dcgan64", "dcgan32", "dcgan28"})


def _builder(arch: str):
    try:
        target = REGISTRY[arch]
    except KeyError:
        raise ConfigError(f"arch: unknown architecture '{arch}' (valid: {', '.join(sorted(REGISTRY))})") from None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def build_gan_models(arch: str, *, latent_dim: int, image_shape: tuple[int, ...], options: dict | None = None):
    """Return fresh ``(generator, discriminator)`` Keras models for architecture ``arch``.

    Raises ConfigError for an unknown architecture or an unknown/missing ``model`` option.
    """
    build = _builder(arch)
    options = dict(options or {})
    accepted = {name: p for name, p in inspect.signature(build).parameters.items()
                if name not in ("latent_dim", "image_shape")}
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        valid = ", ".join(accepted) or "none"
        raise ConfigError(f"model.{unknown[0]}: unknown option for arch '{arch}' (valid: {valid})")
    missing = [n for n, p in accepted.items() if p.default is inspect.Parameter.empty and n not in options]
    if missing:
        raise ConfigError(f"model: arch '{arch}' needs option(s) {', '.join(missing)}")
    try:
        return build(latent_dim=latent_dim, image_shape=tuple(image_shape), **options)
    except ValueError as exc:  # the builder's own check of options against the data
        raise ConfigError(f"arch: '{arch}' cannot be built: {exc}") from None
