"""`BackupAndRestore`: a `fit` killed at any moment resumes, on restart, where its last backup left it, and ends
with the same weights, optimizer state and history as a run that was never interrupted.

The backup folder holds Keras's two files: `latest.weights.h5` (the model's and the optimizer's variables) and
`training_metadata.json` (`{"epoch": ..., "batch": ...}`, which Keras reads). lamina adds, under the key
"lamina" of the same JSON: the SHA-256 of the weights file it belongs to, the steps of the epoch already done,
the history so far, the random generators' states and (mid-epoch) the metrics' running states, so that a resumed
epoch continues exactly. A save first renames the previous pair to `*.bkp`, then writes the new pair (each file
atomically); a restart loads the newest pair whose checksum matches, so a kill between any two of these steps
still finds a whole backup.
"""

import base64
import contextlib
import hashlib
import json
import os

import numpy as np

from lamina.callbacks.callback import BatchCounter, Callback
from lamina.utils.atomic import atomic_write

WEIGHTS = "latest.weights.h5"
METADATA = "training_metadata.json"
PREVIOUS = ".bkp"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _encode(value):
    value = np.asarray(value)
    return {"dtype": value.dtype.str, "shape": list(value.shape), "data": base64.b64encode(value.tobytes()).decode()}


def _decode(entry, like):
    dtype = np.dtype(entry["dtype"])
    shape = tuple(entry["shape"])
    if dtype != np.dtype(like.dtype) or shape != tuple(like.shape):
        raise ValueError(f"BackupAndRestore: the backup holds a {dtype} array of shape {shape} for variable "
                         f"'{like.path}', which is {np.dtype(like.dtype)} of shape {tuple(like.shape)}. The backup "
                         "was made by another model; delete the backup folder to start over.")
    return np.frombuffer(base64.b64decode(entry["data"]), dtype).reshape(shape)


class BackupAndRestore(Callback):
    """Back up the training state so an interrupted `fit` resumes where it stopped (Keras 3's callback).

    Args:
        backup_dir: the folder of the backup (created when needed). Use one folder per training run.
        save_freq: "epoch" (a backup at each epoch's end) or an int (every that many batches; the resumed
            epoch then continues at the batch after the backup).
        double_checkpoint: keep the previous backup as `*.bkp` beside the latest.
        delete_checkpoint: remove the backup when `fit` finishes normally (only the files this callback
            writes, and the folder when that leaves it empty).

    Differs from Keras 3.15 where Keras loses work: Keras resumes a mid-epoch backup at the start of its
    epoch (repeating its batches) and keeps no history; lamina resumes at the next batch with the epoch's
    metric states and the history.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        from lamina import saving  # noqa: F401 (loaded now, not at the first backup inside a timed `fit`)

        if not backup_dir:
            raise ValueError("BackupAndRestore: empty `backup_dir` argument passed.")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"BackupAndRestore: invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq!r}. Expected either 'epoch' or an int >= 1.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, WEIGHTS)
        self._training_metadata_path = os.path.join(self.backup_dir, METADATA)
        self._batches = BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0
        self._restored_history = None

    def batch_interval(self, kind="train"):
        return self.save_freq if kind == "train" and self.save_freq != "epoch" else None

    # ----- restore ------------------------------------------------------------------------------------------

    def _candidates(self):
        """(metadata, weights path) pairs found on disk, newest first."""
        weights = [p for p in (self._weights_path, self._weights_path + PREVIOUS) if os.path.isfile(p)]
        found = []
        for path in (self._training_metadata_path, self._training_metadata_path + PREVIOUS):
            if not os.path.isfile(path):
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    meta = json.load(f)
            except (OSError, ValueError):
                continue  # a metadata file cut short is no backup
            ours = meta.get("lamina") if isinstance(meta, dict) else None
            if isinstance(ours, dict):
                match = next((w for w in weights if _sha256(w) == ours.get("weights_sha256")), None)
            else:  # written by Keras: the weights beside it
                match = weights[0] if weights and weights[0] == self._weights_path else None
            if match is not None and isinstance(meta.get("epoch"), int):
                found.append((meta, match))
        return sorted(found, key=lambda c: (c[0]["epoch"], c[0].get("lamina", {}).get("step", 0)), reverse=True)

    def on_train_begin(self, logs=None):
        candidates = self._candidates()
        if not candidates:
            return
        meta, weights = candidates[0]
        model = self.model
        model.load_weights(weights)
        ours = meta.get("lamina", {})
        extra = [v for v in model.variables if not any(v is w for w in model.weights)]  # random generators
        for variable, entry in zip(extra, ours.get("seeds", [])):
            variable.assign(_decode(entry, variable))
        step = int(ours.get("step", 0))
        if step:
            variables = model.metrics_variables
            saved = ours.get("metrics", [])
            if len(saved) != len(variables):
                raise ValueError(f"BackupAndRestore: the backup holds {len(saved)} metric states but the model "
                                 f"has {len(variables)}; compile it as in the run that made the backup.")
            for variable, entry in zip(variables, saved):
                variable.assign(_decode(entry, variable))
        model._initial_epoch = meta["epoch"]
        model._initial_step = step
        self._current_epoch = meta["epoch"]
        self._restored_history = ours.get("history")

    def _give_history(self):
        restored, self._restored_history = self._restored_history, None
        history = getattr(self.model, "history", None)
        if not restored or history is None:
            return
        history.epoch[:0] = restored["epoch"]
        for key, values in restored["history"].items():
            history.history[key] = list(values) + history.history.get(key, [])

    # ----- save ---------------------------------------------------------------------------------------------

    def on_epoch_begin(self, epoch, logs=None):
        self._give_history()
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save(step=0, epoch_logs=(epoch, dict(logs or {})))

    def on_train_batch_end(self, batch, logs=None):
        if self._batches is not None and self._batches.due(batch):
            self._save(step=batch + 1)

    def _history(self, epoch_logs):
        history = getattr(self.model, "history", None)
        epochs = list(history.epoch) if history is not None else []
        values = {k: list(v) for k, v in (history.history.items() if history is not None else ())}
        if epoch_logs is not None:  # this epoch's logs (History records them after this callback)
            epoch, logs = epoch_logs
            epochs.append(epoch)
            for key, value in logs.items():
                values.setdefault(key, []).append(value)
        return {"epoch": epochs, "history": values}

    def _save(self, step, epoch_logs=None):
        model = self.model
        os.makedirs(self.backup_dir, exist_ok=True)
        for path in (self._weights_path, self._training_metadata_path):  # keep the last whole backup
            if os.path.exists(path):
                os.replace(path, path + PREVIOUS)
        model.save_weights(self._weights_path, overwrite=True)
        extra = [v for v in model.variables if not any(v is w for w in model.weights)]
        ours = {"weights_sha256": _sha256(self._weights_path), "step": step,
                "history": self._history(epoch_logs), "seeds": [_encode(v.value) for v in extra]}
        if step:
            ours["metrics"] = [_encode(v.value) for v in model.metrics_variables]
        meta = {"epoch": self._current_epoch, "batch": max(step - 1, 0), "lamina": ours}
        with atomic_write(self._training_metadata_path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            json.dump(meta, f)
        if not self.double_checkpoint:
            self._remove(self._weights_path + PREVIOUS, self._training_metadata_path + PREVIOUS)

    # ----- end ----------------------------------------------------------------------------------------------

    def on_train_end(self, logs=None):
        self._give_history()
        if self.delete_checkpoint:
            self._remove(self._weights_path, self._training_metadata_path, self._weights_path + PREVIOUS,
                         self._training_metadata_path + PREVIOUS)
            with contextlib.suppress(OSError):
                os.rmdir(self.backup_dir)  # only when nothing else is in it

    @staticmethod
    def _remove(*paths):
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
