"""The GAN training unit (networks, optimizers, compiled step) and the loop around it."""
