"""The phone's state and rules: events in, a new model and effects out. Stdlib only, no I/O."""
