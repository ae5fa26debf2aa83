"""`TensorBoard`: event files that the `tensorboard` program reads, written without TensorFlow.

The events are written with the `tensorboard` package's own event-file writer and summary builders (install
it with `pip install "lamina[tensorboard]"` or `pip install tensorboard`), in Keras 3's layout:

    <log_dir>/train       epoch_<metric> per epoch (and epoch_learning_rate), batch_<metric> every
                          `update_freq` batches, <weight path>/histogram every `histogram_freq` epochs,
                          the model's conceptual graph ("keras": its JSON config, shown by the Graphs tab)
    <log_dir>/validation  epoch_<metric> (the val_ prefix dropped), evaluation_<metric>_vs_iterations

Cost: with `update_freq="epoch"` (the default) the callback only uses epoch hooks, so a fit keeps its one
compiled program per epoch; with `update_freq=N` the engine runs N steps per compiled call when N divides the
epoch's steps (else one step per call); `profile_batch` and `write_steps_per_second` need every batch.
"""

import functools
import itertools
import os
import socket
import time

import numpy as np

from lamina.callbacks.callback import Callback


@functools.cache
def _tensorboard():
    try:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.plugins.graph import metadata as graph_metadata
        from tensorboard.plugins.histogram import summary_v2 as histogram
        from tensorboard.plugins.scalar import summary_v2 as scalar
        from tensorboard.plugins.text import summary_v2 as text
    except ImportError:
        raise ImportError(
            "The TensorBoard callback writes event files with the `tensorboard` package, which is not installed: "
            'pip install "lamina[tensorboard]" (or: pip install tensorboard). TensorFlow is not needed.'
        ) from None
    return event_pb2, graph_metadata, histogram, scalar, text


@functools.cache
def _scalar_template(tag):
    return _tensorboard()[3].scalar_pb(tag, np.float32(0.0))


def _scalar_summary(scalars):
    """The tensorboard package's scalar summary of `scalars` ({tag: value}), one value per tag: copies of its
    cached templates with the values set (building each one afresh costs more than the epoch it logs on small
    models). One summary holds all of an epoch's scalars, so the event file gets one record per step."""
    summary = None
    for tag, value in scalars.items():
        template = _scalar_template(tag)
        if summary is None:
            summary = type(template)()
        entry = summary.value.add()
        entry.CopyFrom(template.value[0])
        entry.tensor.float_val[0] = float(np.float32(value))
    return summary


class _Writer:
    """One run folder's event file (created on first use), in the tensorboard package's record format
    (its `RecordWriter`: length, masked CRC32C, serialized `Event`, masked CRC32C).

    Events are written synchronously to a buffered file, which is flushed every `FLUSH_SECS` (as Keras's
    summary writers do, every 120 s) and when training ends: no writer thread to hand each event to, and no
    wait for the disk after every epoch.
    """

    FLUSH_SECS = 120
    _count = itertools.count()

    def __init__(self, folder):
        self.folder = folder
        self._records = None
        self._flushed = 0.0

    def _open(self):
        from tensorboard.summary.writer.record_writer import RecordWriter

        os.makedirs(self.folder, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}."
                f"{next(self._count)}.v2")
        self._records = RecordWriter(open(os.path.join(self.folder, name), "wb"))  # noqa: SIM115 (closed in close)
        event_pb2 = _tensorboard()[0]
        self._records.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        self._records.flush()
        self._flushed = time.monotonic()

    def write(self, summary, step):
        if self._records is None:
            self._open()
        event_pb2 = _tensorboard()[0]
        self._records.write(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary)
                            .SerializeToString())
        if time.monotonic() - self._flushed > self.FLUSH_SECS:
            self._records.flush()
            self._flushed = time.monotonic()

    def close(self):
        if self._records is not None:
            self._records.close()
            self._records = None


class TensorBoard(Callback):
    """Logs for TensorBoard (Keras 3's arguments).

    Args:
        log_dir: the folder of the run (its `train` and `validation` subfolders hold the event files).
        histogram_freq: log weight histograms every this many epochs (0: never).
        write_graph: log the model's conceptual graph (its JSON config) once.
        write_images: not supported (raises): weight images would need an image encoder.
        write_steps_per_second: log training steps per second (per epoch, and per logged batch).
        update_freq: "epoch", "batch" (= 1), or N: log batch_<metric> every N batches.
        profile_batch: 0, a batch index, or (start, stop): profile those batches with JAX's profiler
            (`jax.profiler`; view with TensorBoard's profile plugin).
        embeddings_freq, embeddings_metadata: not supported (raise when set).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        _tensorboard()  # fail now, not at the first epoch, when the package is missing
        if write_images:
            raise ValueError("TensorBoard: write_images=True is not supported by lamina (weights are logged as "
                             "histograms with histogram_freq).")
        if embeddings_freq or embeddings_metadata:
            raise ValueError("TensorBoard: embeddings (embeddings_freq, embeddings_metadata) are not supported by "
                             "lamina.")
        if update_freq != "epoch" and update_freq != "batch" and (
                isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, got "
                             f"{update_freq!r}.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        self._profiling = False
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_first_batch = 0

    # ----- which hooks are needed ------------------------------------------------------------------

    def batch_interval(self, kind="train"):
        """Batch hooks every `update_freq` steps when that divides the epoch (the logged steps are then chunk
        ends), else every step; none with update_freq="epoch"."""
        if kind != "train":
            return None
        if self._stop_batch or self.write_steps_per_second:
            return 1
        if self.update_freq == "epoch":
            return None
        steps = self.params.get("steps")
        return self.update_freq if steps and steps % self.update_freq == 0 else 1

    # ----- writers -------------------------------------------------------------------------------

    def _writer(self, which):
        if which not in self._writers:
            self._writers[which] = _Writer(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _scalars(self, which, scalars, step):
        if scalars:
            self._writer(which).write(_scalar_summary(scalars), step)

    def _write_graph(self):
        _, graph_metadata, _, _, text = _tensorboard()
        try:
            config = self.model.to_json()
        except Exception:  # a model that cannot describe itself has no conceptual graph
            return
        summary = text.text_pb("keras", config)
        plugin = summary.value[0].metadata.plugin_data
        plugin.plugin_name = graph_metadata.PLUGIN_NAME_KERAS_MODEL
        plugin.content = b"1"
        self._writer("train").write(summary, 0)

    # ----- hooks -------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._epoch_first_batch = 0
        if self.write_graph:
            self._write_graph()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_first_batch = self._global_train_batch
        self._epoch_start = time.time()
        self._epoch_iterations = int(self.model.optimizer.iterations) if self.write_steps_per_second else 0

    def on_train_batch_begin(self, batch, logs=None):
        step = self._epoch_first_batch + batch + 1
        if self._start_batch and step == self._start_batch and not self._profiling:
            import jax

            jax.profiler.start_trace(os.path.join(self.log_dir, "train"))
            self._profiling = True
        self._batch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        previous = self._global_train_batch
        self._global_train_batch = step = self._epoch_first_batch + batch + 1
        scalars = {}
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._batch_start, 1e-9)
            scalars["batch_steps_per_second"] = (step - previous) / elapsed
        if self.update_freq != "epoch" and step % self.update_freq == 0:
            scalars.update((f"batch_{name}", value) for name, value in (logs or {}).items())
        self._scalars("train", scalars, step)
        if self._profiling and step >= self._stop_batch:
            self._stop_profiler()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        train.setdefault("learning_rate", float(np.asarray(self.model.optimizer.learning_rate)))
        if self.write_steps_per_second:
            done = int(self.model.optimizer.iterations) - self._epoch_iterations
            train["steps_per_second"] = done / max(time.time() - self._epoch_start, 1e-9)
        self._scalars("train", {f"epoch_{name}": value for name, value in train.items()}, epoch)
        self._scalars("validation", {f"epoch_{name[4:]}": value for name, value in logs.items()
                                     if name.startswith("val_")}, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return
        step = int(optimizer.iterations)
        self._scalars("validation", {f"evaluation_{name}_vs_iterations": value
                                     for name, value in (logs or {}).items()}, step)

    def on_train_end(self, logs=None):
        if self._profiling:
            self._stop_profiler()
        for writer in self._writers.values():
            writer.close()

    def _log_weights(self, epoch):
        histogram = _tensorboard()[2]
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                writer.write(histogram.histogram_pb(f"{name}/histogram", np.asarray(weight.value)), epoch)

    def _stop_profiler(self):
        import jax

        try:
            jax.profiler.stop_trace()
        finally:
            self._profiling = False


def _profile_range(profile_batch):
    """(start, stop) batches to profile; (0, 0) when off. Accepts an int, a pair, or "start,stop"."""
    message = ("profile_batch must be a non-negative integer or a 2-tuple of positive integers (a range of batches "
               f"to profile); got {profile_batch!r}.")
    if isinstance(profile_batch, str):
        try:
            profile_batch = [int(part) for part in profile_batch.split(",")]
        except ValueError:
            raise ValueError(message) from None
        profile_batch = profile_batch[0] if len(profile_batch) == 1 else profile_batch
    if isinstance(profile_batch, (int, np.integer)) and not isinstance(profile_batch, bool):
        start = stop = int(profile_batch)
    elif isinstance(profile_batch, (tuple, list)) and len(profile_batch) == 2:
        start, stop = (int(b) for b in profile_batch)
    else:
        raise ValueError(message)
    if start < 0 or stop < start:
        raise ValueError(message)
    return start, stop
