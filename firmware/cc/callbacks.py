"""The callback rules live in firmware/core/callback_rules.py (pure: the phone's rules use them
too); this name stays for ccsim's imports."""
from firmware.core.callback_rules import (FIELDS, WORDS, Problem, name_problem,  # noqa: F401
                                          number_problem, problems, reason_problem, span,
                                          window, words, zone, zones)
