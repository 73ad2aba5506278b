"""Architecture registry: ``arch`` in params.yaml -> a builder of a (generator, discriminator) pair.

Each builder is ``build(*, latent_dim, image_shape, **options)``; ``options`` is the section's
``model`` mapping, whose keys are the builder's keyword-only parameters. Modules are imported on
first use. The names alone are :data:`ganpipe.models.ARCHS`: the code that only reads params.yaml
imports those, not this module, so its code fingerprint (ganpipe.codedeps) leaves the builders out
and an architecture edit reruns only the stages that build networks.
"""

from __future__ import annotations

import importlib
import inspect

from ..errors import ConfigError

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
