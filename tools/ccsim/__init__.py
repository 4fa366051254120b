"""ccsim: the reference contact-center server the phone talks to (``python -m tools.ccsim``).

scenario (TOML -> config), store (SQLite), routing + engine (the rules, no I/O), server
(WebSocket for phones, HTTP admin API), customer_link (the simulated customers' process),
traffic (demo calls).
"""
