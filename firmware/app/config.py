"""The phone's config file (TOML): where state lives, and per-install overrides.

Example (every field optional):

    [phone]
    state_dir = "/var/lib/hardphone"   # settings and generated files
    [console]
    port = "pty"                        # overrides the board file's console port
    [board_page]                        # sim board only
    host = "127.0.0.1"
    port = 8765                         # 0 picks a free port; the address is printed
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    def __init__(self, path, field, problem):
        where = f"{path}: {field}" if field else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Config:
    path: Path | None
    state_dir: Path
    console_port: str | None = None
    page_host: str | None = None
    page_port: int | None = None


DEFAULT_STATE_DIR = Path("var/state")

_SCHEMA = {
    "phone": {"state_dir": str},
    "console": {"port": str},
    "board_page": {"host": str, "port": int},
}


def load_config(path: str | None) -> Config:
    if path is None:
        return Config(path=None, state_dir=DEFAULT_STATE_DIR)
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(p, None, "no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(p, None, f"not valid TOML: {e}") from None
    for table, value in data.items():
        if table not in _SCHEMA:
            raise ConfigError(p, table, f"unknown section (known: {', '.join(_SCHEMA)})")
        if not isinstance(value, dict):
            raise ConfigError(p, table, "expected a table")
        for key, v in value.items():
            kind = _SCHEMA[table].get(key)
            if kind is None:
                raise ConfigError(p, f"{table}.{key}", "unknown field")
            if not isinstance(v, kind) or isinstance(v, bool):
                raise ConfigError(p, f"{table}.{key}", f"expected {kind.__name__}, got {v!r}")
    page_port = data.get("board_page", {}).get("port")
    if page_port is not None and not 0 <= page_port <= 65535:
        raise ConfigError(p, "board_page.port", f"must be 0-65535, got {page_port}")
    state_dir = Path(data.get("phone", {}).get("state_dir", DEFAULT_STATE_DIR))
    if not state_dir.is_absolute():
        state_dir = p.parent / state_dir
    return Config(path=p, state_dir=state_dir,
                  console_port=data.get("console", {}).get("port"),
                  page_host=data.get("board_page", {}).get("host"),
                  page_port=page_port)
