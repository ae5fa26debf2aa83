"""Callbacks: hooks into fit / evaluate / predict."""

from lamina.callbacks.callback import Callback
from lamina.callbacks.callback_list import CallbackList
from lamina.callbacks.history import History
from lamina.callbacks.progbar import ProgbarLogger


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
