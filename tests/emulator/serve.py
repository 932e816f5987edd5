#!/usr/bin/env python3
"""Start moto in server mode with stackhand's extension for the operations moto lacks.

Same command line as `moto_server` (-H HOST -p PORT). Ready once `GET /moto-api/` answers.
`--exit-with-parent` stops the server when the process that started it goes away, so a test
binary that cannot run cleanup code never leaves an emulator behind.
"""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stackhand_moto  # noqa: E402


def watch_parent(interval: float = 0.5) -> None:
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description="moto server plus stackhand's extension and local CloudFormation engine"
    )
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("-p", "--port", type=int, default=5000, help="port to bind")
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="exit when the parent process exits",
    )
    parser.add_argument(
        "--request-quotas",
        action="store_true",
        help="throttle alarm calls above CloudWatch's request quotas, as AWS does",
    )
    parser.add_argument(
        "--functions",
        metavar="DIR",
        help="the folder of stackhand's function binaries the CloudFormation engine runs "
        "(target/debug or target/release; default: $STACKHAND_FUNCTIONS_DIR)",
    )
    args = parser.parse_args(argv)

    stackhand_moto.install()
    from stackhand_moto import cfn
    from stackhand_moto.cfn import functions

    cfn.install(endpoint=f"http://{args.host}:{args.port}")
    if args.functions:
        functions.CONFIG["binaries"] = os.path.abspath(args.functions)
    if args.request_quotas:
        from stackhand_moto import strict

        strict.QUOTAS["enforced"] = True
    if args.exit_with_parent:
        watch_parent()

    from moto import server

    server.main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main(sys.argv[1:])
