"""A byte-count progress bar for downloads: a live `rich` bar in a terminal, plain lines otherwise
(a log file or a pipe gets no carriage returns or escape codes)."""

import sys
import time


def _human(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} GB"


class _PlainBar:
    """Prints a line to stderr at most every 0.5 s and at the end."""

    def __init__(self, total, initial, desc, stream):
        self.total, self.n, self.desc, self.stream = total, initial, desc, stream
        self._last = 0.0

    def update(self, n):
        self.n += n
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            self._print()

    def _print(self):
        if self.total:
            pct = 100.0 * self.n / self.total
            text = f"{self.desc}: {_human(self.n)} / {_human(self.total)} ({pct:.0f}%)"
        else:
            text = f"{self.desc}: {_human(self.n)}"
        print(text, file=self.stream, flush=True)

    def close(self):
        self._print()


class _RichBar:
    def __init__(self, total, initial, desc, stream):
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(file=stream),
        )
        self._progress.start()
        self._task = self._progress.add_task(desc, total=total, completed=initial)

    def update(self, n):
        self._progress.advance(self._task, n)

    def close(self):
        self._progress.stop()


def make_progress_bar(total, initial=0, desc="", stream=None):
    """A bar with `update(n_bytes)` and `close()`; `total` may be None when unknown."""
    stream = stream if stream is not None else sys.stderr
    interactive = hasattr(stream, "isatty") and stream.isatty()
    return (_RichBar if interactive else _PlainBar)(total, initial, desc, stream)
