"""``strategy`` in params.yaml -> the ``tf.distribute`` strategy the GAN trains under.

- ``single``: no strategy (``None``), the one-device path, unchanged.
- ``auto``: ``mirrored`` when more than one GPU is visible, else ``single``.
- ``mirrored``: ``MirroredStrategy`` over the local GPUs; with none, over the logical CPU devices
  that exist (one, unless the process split its CPU with ``tf.config.set_logical_device_configuration``).
- ``multi_worker``: ``MultiWorkerMirroredStrategy`` over the machines that the ``TF_CONFIG``
  environment variable lists, each with its local GPUs (or its CPU) as replicas.

How the GAN step splits its batch across replicas is ganpipe.training.gan's business.
"""

from __future__ import annotations

import contextlib
import json
import os

from ..errors import GanpipeError

STRATEGIES = ("auto", "single", "mirrored", "multi_worker")

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


def resolve(name: str) -> str:
    """``auto`` -> ``mirrored`` or ``single`` by the number of visible GPUs; other names unchanged."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r} (valid: {', '.join(STRATEGIES)})")
    if name != "auto":
        return name
    import tensorflow as tf

    return "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "single"


def make_strategy(name: str):
    """The strategy for ``name``: None for ``single``, else a ``tf.distribute.Strategy``.

    For ``multi_worker`` call this before TensorFlow runs any operation in the process (TF's rule);
    raises GanpipeError when TF_CONFIG is missing or malformed.
    """
    name = resolve(name)
    if name == "single":
        return None
    import tensorflow as tf

    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    read_tf_config(os.environ.get("TF_CONFIG"))
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError) as exc:
        raise GanpipeError(f"strategy multi_worker: cannot start ({exc}); it must be set up before TensorFlow "
                           f"runs anything in the process") from None


def read_tf_config(text: str | None) -> dict:
    """Check a TF_CONFIG value for ``multi_worker`` and return it parsed.

    Expected: ``cluster`` with a non-empty ``worker`` list of "host:port" strings (and at most one
    ``chief``), and ``task`` naming one of them by ``type`` and ``index``. Raises GanpipeError.
    """
    where = "strategy multi_worker: TF_CONFIG"
    if not text or not text.strip():
        raise GanpipeError(f"{where} is not set; give each worker the cluster and its own task, e.g. "
                           f"TF_CONFIG='{TF_CONFIG_EXAMPLE}'")
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GanpipeError(f"{where} is not valid JSON ({exc})") from None
    cluster, task = (spec.get("cluster"), spec.get("task")) if isinstance(spec, dict) else (None, None)
    if not isinstance(cluster, dict) or not cluster:
        raise GanpipeError(f"{where}: expected a 'cluster' mapping such as {{\"worker\": [\"host1:12345\", ...]}}, got {cluster!r}")
    unknown = sorted(set(cluster) - {"worker", "chief"})
    if unknown:
        raise GanpipeError(f"{where}: cluster job '{unknown[0]}' is not used by multi_worker (valid: chief, worker)")
    for job, addresses in cluster.items():
        if not (isinstance(addresses, list) and addresses
                and all(isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses)):
            raise GanpipeError(f"{where}: cluster.{job}: expected a list of \"host:port\" strings, got {addresses!r}")
    if "worker" not in cluster:
        raise GanpipeError(f"{where}: cluster has no 'worker' list")
    if len(cluster.get("chief", [])) > 1:
        raise GanpipeError(f"{where}: cluster.chief: at most one chief, got {len(cluster['chief'])}")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise GanpipeError(f"{where}: expected 'task' {{\"type\": one of {', '.join(sorted(cluster))}, \"index\": n}}, got {task!r}")
    index = task.get("index")
    if not (isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(cluster[task["type"]])):
        raise GanpipeError(f"{where}: task.index must be 0..{len(cluster[task['type']]) - 1} for the "
                           f"{task['type']} list, got {index!r}")
    return spec


def is_chief(strategy) -> bool:
    """True unless ``strategy`` is multi-worker and this process is not its chief.

    The chief is the ``chief`` task if the cluster has one, else worker 0 (TF's convention).
    """
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


def scope(strategy):
    """``strategy.scope()``, or a no-op context for the single-device path (None)."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def replicas(strategy) -> int:
    """Replicas training in step: 1 for the single-device path."""
    return strategy.num_replicas_in_sync if strategy is not None else 1


def synchronize_batch_norm(*models) -> None:
    """Make every BatchNormalization layer of ``models`` normalise with the statistics of the global batch.

    Each replica sees a slice of the batch; synchronised layers all-reduce their sums, so training
    under a strategy normalises as one device with the whole batch would. Only for distributed
    runs: on one device the synchronised path (E[x^2] - E[x]^2) rounds differently from the usual one.
    """
    import keras

    for model in models:
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
