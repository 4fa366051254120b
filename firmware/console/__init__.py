"""The serial service console: line-based commands for technicians and the HIL suite."""
