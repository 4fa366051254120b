"""Host-side tools: the sim phone launcher, demo, benchmarks (and later ccsim, flash, mkimage)."""
