"""ganpipe: a reproducible, data-versioned pipeline that trains Keras GANs and reports on them."""

__version__ = "0.1.0"
