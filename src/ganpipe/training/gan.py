"""The GAN unit: both networks, both optimizers, and one compiled function that runs many steps.

One iteration follows the seed programs' ``train_on_batch`` recipe:

1. ``d_steps`` times: a random real batch and a noise batch; fake = G(noise) in inference mode
   (the seeds used ``generator.predict``); D is updated on the real batch (targets drawn from
   ``real_label``), then, a second optimizer step, on the fake batch (targets from ``fake_label``);
2. ``g_steps`` times: fresh noise, G updated through D towards targets from ``g_label``; only G's
   weights take gradients, while D runs in training mode as the frozen discriminator of the seed's
   combined model did (its BatchNormalization uses batch statistics there).

Losses are binary cross-entropy measured in the forward pass before the update, as
``train_on_batch`` reports them. Randomness is stateless, keyed by ``(seed, step)``: step ``s``
draws the same batches, noise and label noise however steps are grouped into calls, and after a
restart from a checkpoint.

Under a ``tf.distribute`` strategy (ganpipe.training.distribute) the same step runs on every
replica: each draws the same global batch, noise and targets from the same keys and keeps its
own slice (by replica id); its losses and accuracies are sums over the slice divided by the
global batch size. Keras' optimizer all-reduces gradients with SUM before applying them, so the
update is the gradient of the global-batch mean, as on one device, and the reported values are
the SUM of the replicas' parts. The single-device path (no strategy) is unchanged.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import tensorflow as tf

from . import distribute

# per-step values returned by the compiled function, in this order
STEP_METRICS = ("d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "g_loss")
# what the history records: the seed programs' three numbers
METRICS = ("d_loss", "d_acc", "g_loss")

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; ``step`` and ``loss`` say where."""

    def __init__(self, step: int, loss: str, value: float):
        super().__init__(f"training diverged at step {step}: {loss} is {value}")
        self.step, self.loss, self.value = step, loss, value


def summarize(row) -> dict[str, float]:
    """One row of STEP_METRICS -> the history's d_loss, d_acc (means of the real and fake halves), g_loss."""
    m = dict(zip(STEP_METRICS, (float(v) for v in row)))
    return {"d_loss": 0.5 * (m["d_loss_real"] + m["d_loss_fake"]),
            "d_acc": 0.5 * (m["d_acc_real"] + m["d_acc_fake"]),
            "g_loss": m["g_loss"]}


class ArraySampler:
    """Random batches from a training array, drawn inside the compiled step.

    uint8 images (N, H, W, C) are scaled to [-1, 1] per batch; float32 arrays (N, D), such as the
    1-D Gaussian's samples, are used as they are. The array lives in one non-trainable variable: the
    compiled function reads it by reference, so neither a float copy of the dataset nor a copy per
    call is made.
    """

    def __init__(self, data: np.ndarray):
        if data.dtype not in (np.uint8, np.float32) or data.ndim < 2 or len(data) == 0:
            raise ValueError(f"expected non-empty uint8 images or float32 samples, got {data.dtype} {data.shape}")
        self.count = len(data)
        self.shape = tuple(data.shape[1:])
        self.scaled = data.dtype == np.uint8
        self.data = tf.Variable(data, trainable=False, name="training_data")

    def __call__(self, key, batch_size: int) -> tf.Tensor:
        idx = tf.random.stateless_uniform([batch_size], key, minval=0, maxval=self.count, dtype=tf.int64)
        batch = tf.gather(self.data, idx)
        return tf.cast(batch, tf.float32) / 127.5 - 1.0 if self.scaled else batch


def make_optimizer(name: str, lr: float, beta_1: float) -> keras.optimizers.Optimizer:
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    raise ValueError(f"unknown optimizer {name!r} (valid: adam, sgd)")


def draw_noise(kind: str, key, batch_size: int, latent_dim: int) -> tf.Tensor:
    shape = [batch_size, latent_dim]
    if kind == "normal":
        return tf.random.stateless_normal(shape, key)
    if kind == "uniform":
        return tf.random.stateless_uniform(shape, key, minval=-1.0, maxval=1.0)
    if kind == "uniform01":
        return tf.random.stateless_uniform(shape, key)
    raise ValueError(f"unknown noise {kind!r} (valid: normal, uniform, uniform01)")


def fixed_noise(seed: int, count: int, latent_dim: int, kind: str = "normal", *, stream: int = -1) -> np.ndarray:
    """Noise (count, latent_dim) float32 from a key that training never draws (negative ``stream``).

    Stream -1 is the noise batch behind every fixed-noise sample grid of a run; the fresh-noise grid
    of step s uses stream -2 - s.
    """
    if stream >= 0:
        raise ValueError(f"stream must be negative (steps >= 0 belong to training), got {stream}")
    key = tf.constant([seed, stream], tf.int64)
    return draw_noise(kind, key, count, latent_dim).numpy()


def _targets(bounds, key, n) -> tf.Tensor:
    low, high = bounds
    if low == high:
        return tf.fill([n, 1], tf.constant(low, tf.float32))
    return tf.random.stateless_uniform([n, 1], key, minval=low, maxval=high)


class GAN:
    """Owns ``generator``, ``discriminator``, an optimizer for each, and the compiled steps."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, sampler, *, batch_size: int, seed: int,
                 lr: float, d_lr: float, beta_1: float = 0.5, optimizer: str = "adam", noise: str = "normal",
                 d_steps: int = 1, g_steps: int = 1, real_label=(1.0, 1.0), fake_label=(0.0, 0.0),
                 g_label=(1.0, 1.0), steps_per_call: int = 1, jit_compile: bool = True, strategy=None):
        """``strategy``: None trains on one device; else a tf.distribute strategy under whose scope
        both networks were built (ganpipe.training.networks) and the optimizers are created here."""
        if sampler.count is not None and sampler.count < batch_size:
            raise ValueError(f"batch_size {batch_size} is larger than the {sampler.count} training examples")
        self.strategy, self.replicas = strategy, distribute.replicas(strategy)
        if batch_size % self.replicas:
            raise ValueError(f"batch_size {batch_size} does not split evenly over {self.replicas} replicas")
        self.generator, self.discriminator, self.sampler = generator, discriminator, sampler
        self.latent_dim = int(generator.input_shape[-1])
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.noise, self.d_steps, self.g_steps = noise, int(d_steps), int(g_steps)
        self.real_label, self.fake_label, self.g_label = tuple(real_label), tuple(fake_label), tuple(g_label)
        # Keras 3 optimizers track the variables they were built for: one instance per network.
        # A TF optimizer binds to the strategy in force when it is created.
        with distribute.scope(strategy):
            self.d_optimizer = make_optimizer(optimizer, d_lr, beta_1)
            self.g_optimizer = make_optimizer(optimizer, lr, beta_1)
            self.d_optimizer.build(discriminator.trainable_variables)
            self.g_optimizer.build(generator.trainable_variables)
        # D's optimizer as built (zero moments and step, the learning rate): what a D reset restores
        self._d_optimizer_initial = [np.array(v) for v in self.d_optimizer.variables]
        self.steps_per_call = int(steps_per_call)
        if jit_compile and strategy is not None:
            # XLA cannot compile a step that reads per-device copies of the variables (tested on TF 2.21)
            log.warning("xla: off under a tf.distribute strategy (XLA cannot compile distributed variables)")
            jit_compile = False
        self._jit_compile = jit_compile
        self._compiled = {}

    @classmethod
    def from_config(cls, cfg, generator, discriminator, sampler, strategy=None) -> "GAN":
        """Build from a :class:`ganpipe.config.TrainConfig` (``strategy``: see ``__init__``)."""
        return cls(generator, discriminator, sampler, batch_size=cfg.batch_size, seed=cfg.seed, lr=cfg.lr,
                   d_lr=cfg.d_lr, beta_1=cfg.beta_1, optimizer=cfg.optimizer, noise=cfg.noise,
                   d_steps=cfg.d_steps, g_steps=cfg.g_steps, real_label=cfg.real_label,
                   fake_label=cfg.fake_label, g_label=cfg.g_label, steps_per_call=cfg.steps_per_call,
                   jit_compile=cfg.xla, strategy=strategy)

    def train_steps(self, start: int, count: int) -> np.ndarray:
        """Run steps ``start .. start+count-1``; return their STEP_METRICS as float32 (count, 5).

        Steps run ``steps_per_call`` at a time in one compiled call, the remainder one by one, so at
        most two functions are compiled. Raises TrainingDiverged at the first non-finite loss.
        """
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        rows, step, end = [], start, start + count
        while step < end:
            k = self.steps_per_call if end - step >= self.steps_per_call else 1
            out = self._compiled_steps(k)(tf.constant(step, tf.int64)).numpy()
            bad = ~np.isfinite(out)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise TrainingDiverged(step + int(i), STEP_METRICS[j], float(out[i, j]))
            rows.append(out)
            step += k
        return np.concatenate(rows)

    def _compiled_steps(self, k: int):
        # The k steps are unrolled in Python: measured here, XLA runs an unrolled block of 5 dense-GAN
        # steps ~1.4x faster per step than single steps, and a tf.while_loop over steps slower than both.
        if k not in self._compiled:
            def steps(start):
                return tf.stack([self._step(start + i) for i in range(k)])

            def run(start):
                if self.strategy is None:
                    return steps(start)
                parts = self.strategy.run(steps, args=(start,))
                return self.strategy.reduce(tf.distribute.ReduceOp.SUM, parts, axis=None)

            self._compiled[k] = tf.function(run, jit_compile=self._jit_compile)
        return self._compiled[k]

    def _share(self, batch: tf.Tensor) -> tf.Tensor:
        """This replica's slice of a global batch (the batch itself on one device)."""
        if self.strategy is None:
            return batch
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return tf.reshape(batch, [self.replicas, -1, *batch.shape[1:]])[replica]

    def _mean(self, values: tf.Tensor) -> tf.Tensor:
        """This replica's part of the global-batch mean of per-example ``values``: the parts sum to the mean."""
        if self.strategy is None:
            return tf.reduce_mean(values)
        return tf.reduce_sum(values) / self.batch_size

    def _bce(self, targets: tf.Tensor, probs: tf.Tensor) -> tf.Tensor:
        # float32 whatever D computes in (its output layer is float32: a no-op cast, keeping the logits Keras reads)
        return self._mean(keras.losses.binary_crossentropy(targets, tf.cast(probs, tf.float32)))

    def _step(self, step) -> tf.Tensor:
        G, D, n, share = self.generator, self.discriminator, self.batch_size, self._share
        base = tf.stack([tf.constant(self.seed, tf.int64), step])
        key = iter(tf.unstack(tf.random.experimental.stateless_split(base, num=6 * self.d_steps + 2 * self.g_steps)))
        for _ in range(self.d_steps):
            real = share(self.sampler(next(key), n))
            fake = G(share(draw_noise(self.noise, next(key), n, self.latent_dim)), training=False)
            real_targets = share(_targets(self.real_label, next(key), n))
            fake_targets = share(_targets(self.fake_label, next(key), n))
            with tf.GradientTape() as tape:
                p_real = D(real, training=True)
                loss_real = self._bce(real_targets, p_real)
            self.d_optimizer.apply_gradients(zip(tape.gradient(loss_real, D.trainable_variables), D.trainable_variables))
            with tf.GradientTape() as tape:
                p_fake = D(fake, training=True)
                loss_fake = self._bce(fake_targets, p_fake)
            self.d_optimizer.apply_gradients(zip(tape.gradient(loss_fake, D.trainable_variables), D.trainable_variables))
            next(key), next(key)  # reserved, so adding a draw later keeps today's streams
        for _ in range(self.g_steps):
            noise = share(draw_noise(self.noise, next(key), n, self.latent_dim))
            g_targets = share(_targets(self.g_label, next(key), n))
            with tf.GradientTape() as tape:
                g_loss = self._bce(g_targets, D(G(noise, training=True), training=True))
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
        acc_real = self._mean(tf.cast(tf.cast(p_real, tf.float32) > 0.5, tf.float32))
        acc_fake = self._mean(tf.cast(tf.cast(p_fake, tf.float32) <= 0.5, tf.float32))
        return tf.stack([loss_real, loss_fake, acc_real, acc_fake, g_loss])

    def generate(self, noise: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Noise (n, latent_dim) float32 -> generator output float32 in [-1, 1], inference mode, in batches."""
        parts = [keras.ops.convert_to_numpy(self.generator(noise[i:i + batch_size], training=False))
                 for i in range(0, len(noise), batch_size)]
        return np.concatenate(parts).astype(np.float32, copy=False)

    # -- state, for checkpoints and the discriminator reset ---------------------------------------

    def state_variables(self) -> list:
        """Every variable whose value defines the training state, in a fixed order."""
        return (list(self.generator.weights) + list(self.discriminator.weights)
                + list(self.g_optimizer.variables) + list(self.d_optimizer.variables))

    def reset_discriminator(self, fresh: keras.Model) -> None:
        """Give D the weights of ``fresh`` (a newly initialised twin) and D's optimizer its state as built.

        Not simply zeros: a Keras 3 optimizer keeps its learning rate among its variables, and a
        zeroed one would silently freeze D.
        """
        for var, value in zip(self.discriminator.weights, fresh.weights):
            var.assign(value)
        for var, value in zip(self.d_optimizer.variables, self._d_optimizer_initial):
            var.assign(value)
