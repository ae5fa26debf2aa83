"""The training engine behind `compile` / `fit` / `evaluate` / `predict`.

* `trainer.Trainer`: Keras 3's training API on the model (a thin facade) and its JAX step methods;
* `engine.Engine`: per model, the setup from the first batch, the compiled programs, the state sync with
  the Variables and the epoch loops with their callbacks;
* `state`: the typed states (`TrainState` unpacks as Keras's 4-tuple) and `StateSync`;
* `steps`: lamina's own compiled steps (the padded last batch masked, one program per epoch);
* `loops`: the chunk programs (`lax.scan` over steps); `data_adapter`: arrays and streams as data sources;
* `compile_utils`: `CompileLoss` / `CompileMetrics`; `program_key`: names programs without tracing;
  `host_predict`: NumPy predict for a few rows; `warmup`: overlapping XLA's one-time CPU setup.
"""
