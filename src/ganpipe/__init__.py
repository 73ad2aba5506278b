"""ganpipe: a reproducible, data-versioned pipeline that trains Keras GANs and reports on them."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, XLA service, CPU features) drowns the progress bar;
# real errors still surface as Python exceptions. Set TF_CPP_MIN_LOG_LEVEL=0 to see it all.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
