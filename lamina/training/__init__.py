"""The training engine: compile / fit / evaluate / predict over a compiled loop."""
