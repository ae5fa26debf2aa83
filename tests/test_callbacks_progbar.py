"""The progress display: a live bar in a pseudo-terminal, clean lines in a pipe (fit, evaluate, predict)."""

import os
import pty
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import numpy as np
    import lamina as keras
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=2, validation_split=0.25, verbose={verbose})
    model.evaluate(x, y, batch_size=8, verbose={verbose})
    model.predict(x, batch_size=8, verbose={verbose})
    print("DONE")
""")


def _env():
    env = dict(os.environ, COLUMNS="120", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    return env


def _run_in_pipe(verbose):
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(verbose=verbose)], capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _run_in_pty(verbose):
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(verbose=verbose)], stdout=follower,
                            stderr=subprocess.PIPE, env=_env())
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    return b"".join(chunks).decode("utf-8", "replace")


def test_pipe_gets_clean_lines_per_epoch_and_per_evaluate():
    out = _run_in_pipe(1)
    print(out)
    assert "\r" not in out and "\x1b" not in out and "\b" not in out and "━" not in out
    lines = out.strip().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    for line in (lines[1], lines[3]):  # one line per epoch: steps, time, per-step time, the logs
        assert line.startswith("6/6 - ") and "/step" in line
        assert "loss:" in line and "accuracy:" in line and "val_loss:" in line
    assert lines[4].startswith("8/8 - ") and "loss:" in lines[4] and "val_" not in lines[4]  # evaluate
    assert lines[5].startswith("8/8 - ") and "/step" in lines[5]  # predict
    assert lines[6] == "DONE" and len(lines) == 7


def test_verbose_2_is_one_line_per_epoch_and_nothing_for_predict():
    lines = _run_in_pipe(2).strip().splitlines()
    assert [line.startswith("6/6 - ") for line in lines[1:4:2]] == [True, True]
    assert lines[-1] == "DONE" and len(lines) == 7  # evaluate prints its logs; predict prints its line


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal")
def test_terminal_gets_a_live_bar():
    out = _run_in_pty(1)
    print(repr(out))
    assert "━" in out  # the bar is drawn
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "6/6" in out and "8/8" in out and "val_loss:" in out
    assert "DONE" in out
