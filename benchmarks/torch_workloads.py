"""The same workloads as a plain PyTorch training loop (nn.Sequential + torch.optim), for reference.

Matches the Keras scripts where it matters for the work done: Glorot-uniform weights and zero biases,
Keras' default learning rates (Adam 1e-3 with eps 1e-7, SGD 1e-2), a fresh shuffle each epoch, the
same batch sizes. The softmax is folded into `CrossEntropyLoss` (the idiomatic PyTorch form).
PyTorch has no compilation step, so its cold and warm Pima runs do the same thing.
"""

import time

import numpy as np
import torch
from torch import nn

from benchmarks import data

clock = time.perf_counter


def _init(model):
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return model


def _train_epoch(model, loss_fn, optimizer, x, y, batch_size):
    model.train()
    order = torch.randperm(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()


def _accuracy(model, x, y, binary=False):
    model.eval()
    with torch.no_grad():
        out = model(x)
    pred = (out[:, 0] > 0.5).to(y.dtype) if binary else out.argmax(dim=1)
    return float((pred == y).float().mean())


def _pima_model():
    model = _init(nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 1),
                                nn.Sigmoid()))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    bce = nn.BCELoss()
    return model, optimizer, lambda out, target: bce(out[:, 0], target)


def pima(size, seed):
    x, y = data.pima(size)
    epochs = 150 if size == "full" else 3
    torch.manual_seed(seed)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    model, optimizer, loss_fn = _pima_model()
    start = clock()
    for _ in range(epochs):
        _train_epoch(model, loss_fn, optimizer, x, y, 10)
    fit_s = clock() - start
    return {"fit_s": fit_s, "accuracy": _accuracy(model, x, y, binary=True), "epochs": epochs}


def population(size, seed, models):
    """The `population` workload's peer form: the Pima models trained one after another."""
    from benchmarks.keras_workloads import population_rates

    x, y = data.pima(size)
    epochs = 150 if size == "full" else 3
    models = models if size == "full" else 3
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    accuracies = []
    start = clock()
    for i, rate in enumerate(population_rates(models)):
        torch.manual_seed(seed + i)
        model, optimizer, loss_fn = _pima_model()
        for group in optimizer.param_groups:
            group["lr"] = rate
        for _ in range(epochs):
            _train_epoch(model, loss_fn, optimizer, x, y, 10)
        accuracies.append(_accuracy(model, x, y, binary=True))
    return {"fit_s": clock() - start, "accuracy": float(np.mean(accuracies)), "models": models, "epochs": epochs}


def rebuild(size, seed, models):
    x, y = data.pima(size)
    models = models if size == "full" else 3
    torch.manual_seed(seed)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    times = []
    for _ in range(models):
        start = clock()
        model, optimizer, loss_fn = _pima_model()
        _train_epoch(model, loss_fn, optimizer, x, y, 10)
        times.append(clock() - start)
    return {"per_model_s": float(np.mean(times[1:])), "first_s": times[0], "total_s": float(np.sum(times)),
            "models": models, "accuracy": _accuracy(model, x, y, binary=True)}


def _fashion_model():
    return _init(nn.Sequential(nn.Linear(784, 784), nn.ReLU(), nn.Linear(784, 10)))


def fashion(size, seed, batch_size):
    (x_train, y_train), (x_test, y_test) = data.fashion(size)
    torch.manual_seed(seed)
    x_train = torch.from_numpy(x_train.reshape(len(x_train), -1))
    x_test = torch.from_numpy(x_test.reshape(len(x_test), -1))
    y_train, y_test = torch.from_numpy(y_train).long(), torch.from_numpy(y_test).long()
    model = _fashion_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    start = clock()
    _train_epoch(model, loss_fn, optimizer, x_train, y_train, batch_size)
    warmup_s = clock() - start
    start = clock()
    _train_epoch(model, loss_fn, optimizer, x_train, y_train, batch_size)
    epoch_s = clock() - start
    params = sum(p.numel() for p in model.parameters())
    rate = len(x_train) / epoch_s
    return {"samples_per_s": rate, "epoch_s": epoch_s, "warmup_s": warmup_s,
            "test_accuracy": _accuracy(model, x_test, y_test), "params": params,
            "train_flops_per_s": 6.0 * params * rate, "samples": len(x_train), "batch_size": batch_size}


def hands_on(size, seed):
    (x_full, y_full), _ = data.fashion(size)
    n_valid = 5000 if size == "full" else 64
    torch.manual_seed(seed)
    x_full, y_full = torch.from_numpy(x_full), torch.from_numpy(y_full).long()
    x_valid, x_train = x_full[:n_valid], x_full[n_valid:]
    y_valid, y_train = y_full[:n_valid], y_full[n_valid:]
    model = _init(nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(),
                                nn.Linear(100, 10)))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        _train_epoch(model, loss_fn, optimizer, x_train, y_train, 32)
        return _accuracy(model, x_valid, y_valid)

    start = clock()
    epoch()
    warmup_s = clock() - start
    start = clock()
    val_accuracy = epoch()
    epoch_s = clock() - start
    return {"epoch_s": epoch_s, "warmup_s": warmup_s, "val_accuracy": val_accuracy, "samples": len(x_train)}


class _TextLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10_000, 32)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.out = nn.Linear(64, 1)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, ids):
        _, (h, _) = self.lstm(self.embedding(ids))
        return torch.sigmoid(self.out(h[-1]))[:, 0]


def lstm_text(size, seed, batch_size=64):
    (x_train, y_train), (x_test, y_test) = data.sequences(size)
    torch.manual_seed(seed)
    x_train, x_test = torch.from_numpy(x_train).long(), torch.from_numpy(x_test).long()
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)
    model = _TextLSTM()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.BCELoss()
    start = clock()
    _train_epoch(model, loss_fn, optimizer, x_train, y_train, batch_size)
    warmup_s = clock() - start
    start = clock()
    _train_epoch(model, loss_fn, optimizer, x_train, y_train, batch_size)
    epoch_s = clock() - start
    model.eval()
    with torch.no_grad():
        accuracy = float(((model(x_test) > 0.5).float() == y_test).float().mean())
    return {"samples_per_s": len(x_train) / epoch_s, "epoch_s": epoch_s, "warmup_s": warmup_s,
            "test_accuracy": accuracy, "samples": len(x_train), "batch_size": batch_size}


def predict(size, seed):
    _, (x_test, _) = data.fashion(size)
    x_test = x_test.reshape(len(x_test), -1)
    torch.manual_seed(seed)
    model = _fashion_model().eval()

    def run(x, batch_size=32):
        with torch.no_grad():
            parts = [torch.softmax(model(torch.from_numpy(x[i:i + batch_size])), dim=1).numpy()
                     for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)

    calls = 200 if size == "full" else 20
    for i in range(5):
        run(x_test[i:i + 1])
    times = []
    for i in range(calls):
        row = x_test[i % len(x_test): i % len(x_test) + 1]
        start = clock()
        run(row)
        times.append(clock() - start)
    run(x_test)
    bulk = []
    for _ in range(3):
        start = clock()
        run(x_test)
        bulk.append(clock() - start)
    return {"latency_ms": 1e3 * float(np.median(times)), "latency_p90_ms": 1e3 * float(np.percentile(times, 90)),
            "throughput": len(x_test) / float(np.median(bulk)), "calls": calls, "bulk_samples": len(x_test)}


def pima_callbacks(size, seed):
    raise NotImplementedError("PyTorch has no Keras callbacks: this row compares lamina with Keras.")
