"""python -m tools.ccsim --config scenario.toml [--db PATH] [--host H] [--port P]

Prints ``ccsim: ready ws://HOST:PORT/agent/v1 http://HOST:PORT/api`` once listening (port 0
picks a free one); logs go to stderr. SIGTERM or Ctrl-C stops it; state is kept in the db.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import signal
import sys
from dataclasses import replace

from .bridge_link import BridgeError
from .scenario import ScenarioError, load
from .server import CcServer


def _raise_file_limit():
    """One socket per phone: a contact center of 1000 agents needs more than the default 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def _serve(server: CcServer, host: str, port: int):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ws_url, api_url = await server.start(host, port)
    print(f"ccsim: ready {ws_url} {api_url}", flush=True)
    await stop.wait()
    logging.getLogger("ccsim").info("stopping")
    await server.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.ccsim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="scenario TOML (see tools/ccsim/scenario.py)")
    ap.add_argument("--db", help="SQLite file (default: the scenario's server.db)")
    ap.add_argument("--host", help="listen address (default: the scenario's server.host)")
    ap.add_argument("--port", type=int, help="listen port, 0 = any free one")
    ap.add_argument("--front-desk", metavar="HOST:PORT",
                    help="UDP address where the call server tells of emergency calls "
                         "(default: the scenario's server.front_desk)")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = ap.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        scenario = load(args.config)
    except ScenarioError as e:
        print(f"ccsim: {e}", file=sys.stderr)
        return 2
    _raise_file_limit()
    host = args.host or scenario.server.host
    port = scenario.server.port if args.port is None else args.port
    try:
        if args.front_desk is not None:
            scenario = replace(scenario, server=replace(scenario.server,
                                                        front_desk=args.front_desk))
        server = CcServer(scenario, args.db or scenario.server.db)
        asyncio.run(_serve(server, host, port))
    except (OSError, BridgeError) as e:
        print(f"ccsim: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
