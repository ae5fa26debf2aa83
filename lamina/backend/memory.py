"""Refuse allocations that cannot fit, before making them.

An array far larger than the machine's memory does not fail cleanly inside XLA or NumPy: it can abort
the whole process (SIGABRT in jaxlib) or swap the machine to a halt. Code that sizes an array from user
input (a layer's weights, a one-hot encoding, a padded batch) asks `check_fits(nbytes, what)` first.
"""

import os


def available_bytes():
    """Memory the system can still give (MemAvailable on Linux; total physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(nbytes, what):
    """Raise MemoryError (naming `what` and both sizes) if `nbytes` exceeds the available memory."""
    limit = available_bytes()
    if limit is not None and nbytes > limit:
        raise MemoryError(f"{what} needs {_human(nbytes)}, more than the {_human(limit)} of memory available; "
                          "check the sizes given (a typo in a unit count or a class label?).")


def _human(n):
    for unit, scale in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"
