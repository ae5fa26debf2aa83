"""Recurrent layers: cells, the `RNN` wrapper and its loop, the wrappers over time.

| module | what |
|---|---|
| `scan.py` | the one time loop (`lax.scan`), masks and `go_backwards` |
| `cell.py` | what the built-in cells share (Keras's weight layout, dropout masks); how `RNN` steps any cell |
| `simple_rnn.py`, `lstm.py`, `gru.py` | each cell and its layer (Keras's gate order and configs) |
| `stacked.py` | `StackedRNNCells` |
| `rnn.py` | `RNN(cell)`: states, `stateful`, masks; base of the three layers |
| `bidirectional.py` | `Bidirectional` (every `merge_mode`, `backward_layer`) |
| `time_distributed.py` | `TimeDistributed` |
"""

from lamina.layers.recurrent.bidirectional import Bidirectional
from lamina.layers.recurrent.gru import GRU, GRUCell
from lamina.layers.recurrent.lstm import LSTM, LSTMCell
from lamina.layers.recurrent.rnn import RNN
from lamina.layers.recurrent.simple_rnn import SimpleRNN, SimpleRNNCell
from lamina.layers.recurrent.stacked import StackedRNNCells
from lamina.layers.recurrent.time_distributed import TimeDistributed

__all__ = ["Bidirectional", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell",
           "StackedRNNCells", "TimeDistributed"]
