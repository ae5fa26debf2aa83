"""Callbacks: hooks into fit / evaluate / predict."""

from lamina.callbacks.callback import Callback, CallbackList, History
from lamina.callbacks.progbar import ProgbarLogger
