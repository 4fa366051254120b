"""Settings on disk: JSON, written atomically so a power cut leaves the old or the new file."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from firmware.core.model import Settings

log = logging.getLogger("hardphone.store")


class SettingsStore:
    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "settings.json"

    def load(self) -> Settings:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            return Settings()
        except (OSError, ValueError) as e:
            bad = self.path.with_suffix(".bad")
            log.warning("%s: unreadable (%s); using defaults, kept as %s", self.path, e, bad.name)
            os.replace(self.path, bad)
            return Settings()
        settings, problems = Settings.from_dict(data)
        for problem in problems:
            log.warning("%s: %s", self.path, problem)
        return settings

    def save(self, settings: Settings):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(settings), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
