"""The architectures by name: ``arch`` in params.yaml is one of :data:`ARCHS`.

Only names live here, so reading params.yaml (ganpipe.config) imports no network code:
ganpipe.models.registry maps each name to its builder, and ganpipe.models.heads holds the output
layers every builder ends in.
"""

from __future__ import annotations

# the architectures built of convolutions: what the `auto` rules ask of a network (ganpipe.training.hardware)
CONVOLUTIONAL_ARCHS = frozenset({"dcgan64", "dcgan32", "dcgan28"})
# ... and of dense layers; ganpipe.models.registry has a builder for each name of ARCHS
DENSE_ARCHS = frozenset({"dense", "dense_small", "dense_sgd", "mlp_dropout", "gauss1d"})
ARCHS = tuple(sorted(CONVOLUTIONAL_ARCHS | DENSE_ARCHS))
