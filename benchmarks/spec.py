"""What is measured: the workloads, their metrics, and the issue's targets (stdlib only).

A metric is "lower" (a time: the per-round ratio is peer / lamina) or "higher" (a rate: the ratio
is lamina / peer); either way a ratio above 1 means lamina is faster. "info" metrics (accuracy,
compile time) are reported without a ratio.
"""

from dataclasses import dataclass, field

#: The system every ratio is taken against, and the peers in the order they run in a round.
BASE = "lamina"
PEERS = ("keras-jax", "keras-tf", "torch")
SYSTEMS = (BASE,) + PEERS
#: The peer the issue's targets refer to.
TARGET_PEER = "keras-jax"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    direction: str  # "lower", "higher" or "info"
    target: float = None  # minimum lamina speed-up over TARGET_PEER


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    task: str  # the worker function (see benchmarks/keras_workloads.py, torch_workloads.py)
    metrics: tuple
    cache: str = "cold"  # "cold": empty compilation cache per run; "warm": one pre-populated by an untimed run
    params: dict = field(default_factory=dict)
    flops: str = None  # how the run's `train_flops_per_s` counts FLOPs (None: the workload reports no FLOP rate)
    systems: tuple = SYSTEMS  # the systems that have this workload (a search needs Keras Tuner: no torch)


WORKLOADS = {w.name: w for w in (
    Workload("pima_cold", "Pima 8-12-8-1, fit epochs=150 batch_size=10, cold compilation cache", "pima",
             (Metric("fit_s", "fit wall time", "s", "lower", 3.0),
              Metric("accuracy", "accuracy (train set)", "", "info")), cache="cold"),
    Workload("pima_warm", "Pima 8-12-8-1, fit epochs=150 batch_size=10, warm compilation cache", "pima",
             (Metric("fit_s", "fit wall time", "s", "lower", 20.0),
              Metric("accuracy", "accuracy (train set)", "", "info")), cache="warm"),
    Workload("rebuild", "Pima 8-12-8-1 rebuilt 20 times in one process (build, compile, fit 1 epoch batch_size=10 "
             "each, as a hyperparameter search that keeps the architecture), cold compilation cache", "rebuild",
             (Metric("per_model_s", "time per model after the first (mean)", "s", "lower", 3.0),
              Metric("first_s", "first model (incl. compile)", "s", "info"),
              Metric("total_s", "all models", "s", "info")), cache="cold", params={"models": 20}),
    Workload("population", "32 Pima 8-12-8-1 models (different seeds, Adam learning rates 3e-4..3e-2), fit "
             "epochs=150 batch_size=10: lamina trains them in one `Population.fit`, the peers one after another; "
             "cold compilation cache", "population",
             (Metric("fit_s", "wall time for the 32 models", "s", "lower", 50.0),
              Metric("vs_sequential", "lamina: 32 sequential lamina fits / one Population.fit (target >= 5)", "x",
                     "info"),
              Metric("sequential_s", "lamina: 32 sequential lamina fits", "s", "info"),
              Metric("accuracy", "mean final training accuracy", "", "info")),
             cache="cold", params={"models": 32}),
    Workload("population_warm", "The population workload with a warm compilation cache (a search run again, or "
             "a second script on the same architecture); lamina only: Keras keeps no compiled programs between "
             "runs, so its time is the population row's", "population",
             (Metric("vs_sequential", "lamina: 32 sequential lamina fits / one Population.fit (target >= 5)", "x",
                     "info"),
              Metric("fit_s", "wall time for the 32 models", "s", "info"),
              Metric("sequential_s", "lamina: 32 sequential lamina fits", "s", "info")),
             cache="warm", params={"models": 32}, systems=("lamina",)),
    Workload("pima_callbacks", "Pima fit (epochs=150 batch_size=10) with EarlyStopping + ModelCheckpoint(best "
             "only) + TensorBoard, warm; overhead: that fit over the same fit without callbacks (target <= 1.5)",
             "pima_callbacks", (Metric("fit_s", "fit wall time with the callbacks", "s", "lower", 10.0),
                                Metric("overhead", "with / without callbacks", "x", "info")), cache="warm"),
    Workload("fashion_b32", "784-784-10 relu/softmax, Adam, Fashion-MNIST, batch 32, 1 epoch after a warm-up epoch",
             "fashion", (Metric("samples_per_s", "training throughput", "samples/s", "higher", 1.0),
                         Metric("warmup_s", "first epoch (incl. compile)", "s", "info"),
                         Metric("test_accuracy", "test accuracy", "", "info")), params={"batch_size": 32},
             flops="6 x params per sample"),
    Workload("fashion_b256", "784-784-10 relu/softmax, Adam, Fashion-MNIST, batch 256, 1 epoch after a warm-up epoch",
             "fashion", (Metric("samples_per_s", "training throughput", "samples/s", "higher", 1.0),
                         Metric("warmup_s", "first epoch (incl. compile)", "s", "info"),
                         Metric("test_accuracy", "test accuracy", "", "info")), params={"batch_size": 256},
             flops="6 x params per sample"),
    Workload("fashion_cnn", "Conv2D 32 3x3 - MaxPool - Conv2D 64 3x3 - MaxPool - Flatten - Dense 128 - Dense 10, "
             "Adam, Fashion-MNIST, batch 64, 1 epoch after a warm-up epoch", "fashion_cnn",
             (Metric("samples_per_s", "training throughput", "samples/s", "higher", 1.2),
              Metric("warmup_s", "first epoch (incl. compile)", "s", "lower", 1.0),
              Metric("test_accuracy", "test accuracy after 2 epochs", "", "info")), params={"batch_size": 64},
             flops="3 x 2 x the forward multiply-adds of the conv and dense layers per sample"),
    Workload("hands_on", "Flatten-300-100-10, SGD, Fashion-MNIST 55k/5k (Hands-On ML), batch 32, 1 epoch after a "
             "warm-up epoch", "hands_on",
             (Metric("epoch_s", "epoch time (with validation)", "s", "lower"),
              Metric("warmup_s", "first epoch (incl. compile)", "s", "info"),
              Metric("val_accuracy", "validation accuracy", "", "info"))),
    Workload("lstm_text", "Embedding(10000, 32)-LSTM(64)-Dense(1) sigmoid, Adam, generated texts of length 100, "
             "batch 64, 1 epoch after a warm-up epoch", "lstm_text",
             (Metric("samples_per_s", "training throughput", "samples/s", "higher", 1.5),
              Metric("warmup_s", "first epoch (incl. compile)", "s", "info"),
              Metric("test_accuracy", "test accuracy", "", "info"))),
    Workload("predict", "predict on the 784-784-10 model: 1 sample (median of 200 calls) and 10,000 samples",
             "predict", (Metric("latency_ms", "1-sample predict latency", "ms", "lower", 10.0),
                         Metric("throughput", "10k-sample predict throughput", "samples/s", "higher"))),
    Workload("tuner_random", "Random search, 8 trials x 20 epochs (batch 10, validation_split 0.2) of Pima MLPs: "
             "1-3 hidden relu layers of 8-64 units, SGD or Adam, log-uniform learning rate; lamina.tuners against "
             "Keras Tuner, same space and budget, cold compilation cache", "tuner_random",
             (Metric("search_s", "tuner construction + search wall time", "s", "lower", 10.0),
              Metric("best_val_accuracy", "best trial's val_accuracy", "", "info")),
             cache="cold", params={"trials": 8}, systems=("lamina", "keras-jax", "keras-tf")),
    Workload("import", "`import lamina` vs `import keras` (fresh process)", "import",
             (Metric("import_s", "import time", "s", "lower", 2.0),)),
)}

#: Fraction of the machine's GEMM rate that lamina's training must reach on this workload.
FLOP_TARGET = ("fashion_b256", 0.5)
