"""The GAN unit: a ``keras.Model`` owning both networks and both optimizers, trained by ``fit``.

One ``train_step`` follows the seed programs' ``train_on_batch`` recipe:

1. ``d_steps`` times: a random real batch and a noise batch; fake = G(noise) in inference mode
   (the seeds used ``generator.predict``); D is updated on the real batch (targets drawn from
   ``real_label``), then, a second optimizer step, on the fake batch (targets from ``fake_label``);
2. ``g_steps`` times: fresh noise, G updated through D towards targets from ``g_label``; only G's
   weights take gradients, while D runs in training mode as the frozen discriminator of the seed's
   combined model did (its BatchNormalization uses batch statistics there).

Losses are binary cross-entropy measured in the forward pass before the update, as
``train_on_batch`` reports them. Randomness is stateless, keyed by ``(seed, step)`` where ``step``
is the step's index, which ``fit`` reads from :meth:`GAN.steps` (real batches are drawn inside
the step from the training array, so the "data" is only the step indices): step ``s`` draws the
same batches, noise and label noise however ``fit`` groups steps (``steps_per_execution``), and
after a restart from a checkpoint. A step counter (a variable, saved with the training state)
says where to start again.

Under a ``tf.distribute`` strategy (built, compiled and fitted in its scope) the same step runs on
every replica: each draws the same global batch, noise and targets from the same keys and keeps
its own slice (by replica id); its losses are sums over the slice divided by the global batch
size. Keras' optimizer all-reduces gradients with SUM, so the update is the gradient of the
global-batch mean, as on one device; the reported values are all-reduced the same way.

Every step's five values are also written into a small ring buffer (:meth:`GAN.step_rows`), so
callbacks, which run once per ``steps_per_execution`` steps, still see every step.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .augment import POLICIES as AUGMENT_POLICIES
from .augment import augment as augment_images
from .augment import draw_params as draw_augment_params

# per-step values, in this order: train_step's logs and the rows of step_rows()
STEP_METRICS = ("d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "g_loss")
# what the history records: the seed programs' three numbers
METRICS = ("d_loss", "d_acc", "g_loss")
# rows of the per-step ring buffer: more than the most steps one execution may run (config allows 50)
RING = 64
AUGMENT_STREAM = 7  # folded into a step's key for the augmentation draws


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

    The array (uint8 images (N, H, W, C), float32 values (N, D), ...) lives in one non-trainable
    variable as stored: the compiled function reads it by reference, so neither a float copy of the
    dataset nor a copy per call is made. ``to_network`` (the data kind's, ganpipe.data.kinds) maps a
    gathered batch to float32 in the network's range, e.g. uint8 images to [-1, 1].
    """

    def __init__(self, data: np.ndarray, to_network):
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(f"expected a non-empty array of examples, got {data.dtype} {data.shape}")
        self.count = len(data)
        self.shape = tuple(data.shape[1:])
        self.to_network = tf.autograph.experimental.do_not_convert(to_network)  # plain ops: nothing to convert
        self.data = tf.Variable(data, trainable=False, name="training_data")

    def __call__(self, key, batch_size: int) -> tf.Tensor:
        idx = tf.random.stateless_uniform([batch_size], key, minval=0, maxval=self.count, dtype=tf.int64)
        return self.to_network(tf.gather(self.data, idx))


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
    after s steps uses stream -2 - s.
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


class GAN(keras.Model):
    """``generator`` and ``discriminator`` trained against each other; ``compile`` takes an optimizer for each."""

    def __init__(self, cfg, generator: keras.Model, discriminator: keras.Model, sampler: ArraySampler, **kwargs):
        """The GAN of ``cfg`` (a :class:`ganpipe.config.TrainConfig`: its step's settings, read here
        once); build it under the strategy's scope to train distributed (ganpipe.training.networks
        builds G and D there).

        ``cfg.ema_half_life`` > 0 keeps ``ema_generator``, an exponential moving average of G's weights
        whose half-life is that many training images (StyleGAN2-ADA's ``ema_kimg``, in images); with
        ``cfg.ema_rampup`` > 0 the half-life is at most ``ema_rampup`` times the images seen so far, so
        the average forgets the random start quickly. BatchNorm's moving statistics are averaged
        the same way as the weights, so they match the averaged weights they normalise.

        ``cfg.augment`` names DiffAugment policies (ganpipe.training.augment) applied to every image D
        sees in training, real and generated, inside the gradient tapes.
        """
        super().__init__(**kwargs)
        replicas = self.distribute_strategy.num_replicas_in_sync
        if sampler.count < cfg.batch_size:
            raise ValueError(f"batch_size {cfg.batch_size} is larger than the {sampler.count} training examples")
        if cfg.batch_size % replicas:
            raise ValueError(f"batch_size {cfg.batch_size} does not split evenly over {replicas} replicas")
        self.cfg = cfg
        self.generator, self.discriminator = generator, discriminator
        self._sampler = sampler  # not a Keras object: kept out of the model's weights
        self.latent_dim = int(generator.input_shape[-1])
        self.batch_size, self.seed, self.replicas = int(cfg.batch_size), int(cfg.seed), replicas
        # the step counter keys every random draw; every replica holds the same value
        self.step_counter = self.add_weight(shape=(), dtype="int64", initializer="zeros", trainable=False,
                                            aggregation="only_first_replica", name="step")
        self.recent = self.add_weight(shape=(RING, len(STEP_METRICS)), initializer="zeros", trainable=False,
                                      aggregation="only_first_replica", name="recent_steps")
        self.augment_policy = tuple(cfg.augment)
        unknown = set(self.augment_policy) - set(AUGMENT_POLICIES)
        if unknown:
            raise ValueError(f"unknown augment policy {sorted(unknown)[0]!r} (valid: {', '.join(AUGMENT_POLICIES)})")
        self.ema_half_life, self.ema_rampup = float(cfg.ema_half_life), float(cfg.ema_rampup)
        self.ema_generator = None
        if self.ema_half_life > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.built = True  # G and D are built; fit must not trace a call() to build anything

    @property
    def sampler(self) -> ArraySampler:
        return self._sampler

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer, **kwargs):
        """One optimizer per network (a Keras 3 optimizer tracks the variables it was built for);
        ``kwargs`` go to ``keras.Model.compile`` (``steps_per_execution``, ``jit_compile``)."""
        if kwargs.get("steps_per_execution", 1) > RING:
            raise ValueError(f"steps_per_execution must be <= {RING}, got {kwargs['steps_per_execution']}")
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        # D's optimizer as built (zero moments and step, the learning rate): what a D reset restores
        self._d_optimizer_initial = [np.array(v) for v in d_optimizer.variables]

    def make_train_function(self, force=False):
        """Keras' train function, except where one XLA program can run a whole execution.

        With ``jit_compile`` and ``steps_per_execution`` > 1 Keras XLA-compiles one step and calls it
        once per step from a TensorFlow while loop, which is slower than a loop compiled whole
        (measured in docs/speed.md). On one device (no strategy) the data is :meth:`steps`, a
        contiguous range of step indices from :attr:`steps_done`, so an execution needs only its first
        index and how many follow: the indices are counted off fit's iterator, and the steps run in a
        while loop inside one XLA program. The step is the same function either way, so the results
        are the same (tested bit for bit). Any other data (batches, a gap, a start other than the
        steps done) raises ValueError before the execution trains.
        """
        if self.train_function is not None and not force:
            return self.train_function
        if (self.run_eagerly or not self.jit_compile or self.steps_per_execution <= 1
                or tf.distribute.has_strategy() or self.distribute_strategy.num_replicas_in_sync > 1):
            return super().make_train_function(force)
        run_steps, take = self._fused_steps(), self._fused_take(int(self.steps_per_execution))

        def function(iterator):
            spec = getattr(iterator, "element_spec", None)
            if not (isinstance(spec, tf.TensorSpec) and spec.shape.rank == 0 and spec.dtype.is_integer):
                raise ValueError(f"GAN.fit: the fused execution takes GAN.steps(until), one step index per "
                                 f"element; got elements {spec}")
            left, first, count, in_order = take(iterator)
            if not bool(left):
                raise StopIteration
            if not bool(in_order):
                start, done = int(first), self.steps_done
                found = f"from step {start}" if start != done else f"of {int(count)} steps from {start} with a gap"
                raise ValueError(f"GAN.fit: the fused execution takes GAN.steps(until), consecutive step indices "
                                 f"from steps_done ({done}); got an execution {found}")
            return run_steps(first, count)

        self.train_function = function
        return function

    def _fused_steps(self):
        """One XLA program running steps ``first .. first+count-1`` in a while loop: the last step's logs.

        The step is traced once, as the loop's body (the loop starts from zero logs): tracing it again
        for a first step outside the loop doubled the compile time (the same program otherwise).
        """

        @tf.function(jit_compile=True, reduce_retracing=True)
        def run_steps(first, count):
            logs = {name: tf.constant(0.0, tf.float32) for name in STEP_METRICS}

            def body(i, logs):
                return i + 1, self.train_step(first + i)

            return tf.while_loop(lambda i, _: i < count, body, (tf.constant(0, tf.int64), logs))[1]

        return run_steps

    def _fused_take(self, most: int):
        """``take(iterator)``: (any left?, the first index, how many of at most ``most`` follow it, as steps() gives?)."""

        @tf.function(reduce_retracing=True)
        def take(iterator):
            head = iterator.get_next_as_optional()
            first = tf.cond(head.has_value(), lambda: tf.cast(head.get_value(), tf.int64),
                            lambda: tf.constant(-1, tf.int64))

            def another(count, going, in_order):
                following = iterator.get_next_as_optional()
                going = following.has_value()
                index = tf.cond(going, lambda: tf.cast(following.get_value(), tf.int64), lambda: first + count)
                return count + tf.cast(going, tf.int64), going, tf.logical_and(in_order, tf.equal(index, first + count))

            starts_at_done = tf.logical_or(tf.logical_not(head.has_value()),
                                           tf.equal(first, tf.cast(self.step_counter.value, tf.int64)))
            count, _, in_order = tf.while_loop(lambda count, going, _: tf.logical_and(going, count < most), another,
                                               (tf.constant(1, tf.int64), head.has_value(), starts_at_done))
            return head.has_value(), first, count, in_order

        return take

    @property
    def steps_done(self) -> int:
        return int(self.step_counter.numpy())

    def steps(self, until: int) -> tf.data.Dataset:
        """``fit``'s data for steps ``steps_done .. until-1``: each step's index, once per replica."""
        from ..datasets import untuned  # an iterator that ends with its last step (ganpipe.datasets)

        start, stop = self.steps_done, max(self.steps_done, int(until))
        strategy = self.distribute_strategy
        if strategy.num_replicas_in_sync == 1 and not tf.distribute.has_strategy():
            return untuned(tf.data.Dataset.range(start, stop))

        def per_worker(ctx):  # the worker's local replicas take consecutive elements: repeat each index
            local = ctx.num_replicas_in_sync // ctx.num_input_pipelines
            return untuned(tf.data.Dataset.range(start, stop).map(lambda s: tf.fill([local], s)).unbatch())

        return strategy.distribute_datasets_from_function(per_worker)

    def step_rows(self, start: int, stop: int) -> np.ndarray:
        """STEP_METRICS of steps ``start .. stop-1`` (float32, (stop - start, 5)); at most RING steps back."""
        if stop - start > RING:
            raise ValueError(f"only the last {RING} steps are kept, asked for {stop - start}")
        ring = np.asarray(self.recent.numpy())
        return ring[np.arange(start, stop) % RING]

    def _share(self, batch: tf.Tensor) -> tf.Tensor:
        """This replica's slice of a global batch (the batch itself on one device)."""
        if self.replicas == 1:
            return batch
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return tf.reshape(batch, [self.replicas, -1, *batch.shape[1:]])[replica]

    def _mean(self, values: tf.Tensor) -> tf.Tensor:
        """This replica's part of the global-batch mean of per-example ``values``: the parts sum to the mean."""
        if self.replicas == 1:
            return tf.reduce_mean(values)
        return tf.reduce_sum(values) / self.batch_size

    def _bce(self, targets: tf.Tensor, probs: tf.Tensor) -> tf.Tensor:
        # float32 whatever D computes in (its output layer is float32: a no-op cast, keeping the logits Keras reads)
        return self._mean(keras.losses.binary_crossentropy(targets, tf.cast(probs, tf.float32)))

    def train_step(self, step):
        """One step; ``step`` (int64 scalar, from :meth:`steps`) keys its draws: batches come from the array."""
        G, D, n, share = self.generator, self.discriminator, self.batch_size, self._share
        step = tf.reshape(tf.cast(step, tf.int64), [])
        base = tf.stack([tf.constant(self.seed, tf.int64), step])
        key = iter(tf.unstack(tf.random.experimental.stateless_split(base, num=6 * self.cfg.d_steps + 2 * self.cfg.g_steps)))
        # augmentation draws from a stream of its own, so runs without it keep their draws
        aug_keys = iter(tf.unstack(tf.random.experimental.stateless_split(
            tf.random.experimental.stateless_fold_in(base, AUGMENT_STREAM), num=2 * self.cfg.d_steps + self.cfg.g_steps)))
        view = self._augmenter(aug_keys)
        for _ in range(self.cfg.d_steps):
            real = view(share(self._sampler(next(key), n)))
            fake = view(G(share(draw_noise(self.cfg.noise, next(key), n, self.latent_dim)), training=False))
            real_targets = share(_targets(self.cfg.real_label, next(key), n))
            fake_targets = share(_targets(self.cfg.fake_label, next(key), n))
            loss_real, p_real = self._d_update(real, real_targets)
            loss_fake, p_fake = self._d_update(fake, fake_targets)
            next(key), next(key)  # reserved, so adding a draw later keeps today's streams
        for _ in range(self.cfg.g_steps):
            noise = share(draw_noise(self.cfg.noise, next(key), n, self.latent_dim))
            g_targets = share(_targets(self.cfg.g_label, next(key), n))
            with tf.GradientTape() as tape:
                g_loss = self._bce(g_targets, D(view(G(noise, training=True)), training=True))
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
        if self.ema_generator is not None:
            self._update_ema(step)
        acc_real = self._mean(tf.cast(tf.cast(p_real, tf.float32) > 0.5, tf.float32))
        acc_fake = self._mean(tf.cast(tf.cast(p_fake, tf.float32) <= 0.5, tf.float32))
        values = tf.stack([loss_real, loss_fake, acc_real, acc_fake, g_loss])
        if self.replicas > 1:  # every replica then holds the global values
            values = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)
        self.recent.assign(tf.tensor_scatter_nd_update(self.recent.value, [[step % RING]], [values]))
        # assign, not assign_add: each replica writes the same value, whether or not its copy is merged
        self.step_counter.assign(step + 1)
        if self.replicas > 1:
            # Keras 3.15 reduces multi-worker logs with reduce(MEAN, axis=0), which fails on scalars
            return {name: tf.reshape(value, [1]) for name, value in zip(STEP_METRICS, tf.unstack(values))}
        return dict(zip(STEP_METRICS, tf.unstack(values)))

    def _d_update(self, images, targets):
        """One optimizer step of D on ``images`` towards ``targets``: (the loss before it, D's probabilities)."""
        D = self.discriminator
        with tf.GradientTape() as tape:
            probs = D(images, training=True)
            loss = self._bce(targets, probs)
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, D.trainable_variables), D.trainable_variables))
        return loss, probs

    def _augmenter(self, keys):
        """A function applying the next key's augmentation to a (replica's slice of a) batch; identity without policy."""
        if not self.augment_policy:
            return lambda images: images

        def view(images):
            params = draw_augment_params(self.augment_policy, next(keys), self.batch_size)  # the global batch's
            return augment_images(images, {name: self._share(p) for name, p in params.items()})

        return view

    def ema_beta(self, step) -> tf.Tensor:
        """The EMA's decay after step ``step`` (0-based): 0.5 ** (batch / half-life in images)."""
        half_life = tf.constant(self.ema_half_life, tf.float32)
        if self.ema_rampup > 0:
            seen = tf.cast(step + 1, tf.float32) * self.batch_size
            half_life = tf.minimum(half_life, seen * self.ema_rampup)
        return tf.pow(0.5, self.batch_size / tf.maximum(half_life, 1e-8))

    def _update_ema(self, step) -> None:
        beta = self.ema_beta(step)
        for average, current in zip(self.ema_generator.weights, self.generator.weights):
            value = tf.cast(current.value, tf.float32)
            average.assign(value + tf.cast(beta, average.dtype) * (tf.cast(average.value, average.dtype) - value))

    def generate(self, noise: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Noise (n, latent_dim) float32 -> generator output float32, inference mode, in batches."""
        return generate(self.generator, noise, batch_size)

    # -- state, for checkpoints and the discriminator reset ---------------------------------------

    def state_variables(self) -> list:
        """Every variable whose value defines the training state, in a fixed order."""
        ema = list(self.ema_generator.weights) if self.ema_generator is not None else []
        return (list(self.generator.weights) + list(self.discriminator.weights)
                + list(self.g_optimizer.variables) + list(self.d_optimizer.variables) + [self.step_counter] + ema)

    def reset_discriminator(self, fresh: keras.Model) -> None:
        """Give D the weights of ``fresh`` (a newly initialised twin) and D's optimizer its state as built.

        Not simply zeros: a Keras 3 optimizer keeps its learning rate among its variables, and a
        zeroed one would silently freeze D.
        """
        for var, value in zip(self.discriminator.weights, fresh.weights):
            var.assign(value)
        for var, value in zip(self.d_optimizer.variables, self._d_optimizer_initial):
            var.assign(value)


def generate(generator: keras.Model, noise: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """``generator`` on noise (n, latent_dim) float32 in inference mode, in batches -> float32 (n, ...)."""
    parts = [keras.ops.convert_to_numpy(generator(noise[i:i + batch_size], training=False))
             for i in range(0, len(noise), batch_size)]
    return np.concatenate(parts).astype(np.float32, copy=False)


def build_gan(cfg, generator: keras.Model, discriminator: keras.Model, sampler: ArraySampler, *,
              jit_compile: bool | None = None) -> GAN:
    """The compiled GAN of a :class:`ganpipe.config.TrainConfig` (call it in the strategy's scope to distribute).

    ``jit_compile`` defaults to ``cfg.xla``; ``steps_per_execution`` comes from the config.
    """
    gan = GAN(cfg, generator, discriminator, sampler)
    gan.compile(d_optimizer=make_optimizer(cfg.optimizer, cfg.d_lr, cfg.beta_1),
                g_optimizer=make_optimizer(cfg.optimizer, cfg.lr, cfg.beta_1),
                steps_per_execution=cfg.steps_per_execution, jit_compile=cfg.xla if jit_compile is None else jit_compile)
    return gan
