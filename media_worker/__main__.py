"""`python -m media_worker`: the entry point the container image runs, and the local run too.

One worker in this process; or, with ECLINIC_WORKER_PROCESSES above one (the stack sets it to the
task's vCPUs), that many worker processes under this one (media_worker.processes).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import uvloop

from media_worker.config import WorkerConfig


async def serve(config: WorkerConfig) -> None:
    from media_worker.aiortc_hook import check_compatible
    from media_worker.storage import S3ImageStore
    from media_worker.worker import Worker

    check_compatible()  # an aiortc the relay was not written for stops the worker here, by name

    store = S3ImageStore(config.files_bucket, config.region, config.endpoint_url, config.files_kms_key_id)
    worker = Worker(config, store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logging.getLogger("media_worker").info(
        "media worker %s starting, capacity %d", config.worker_id, config.capacity
    )
    await worker.run(stop)
    logging.getLogger("media_worker").info("media worker %s stopped", config.worker_id)


def main() -> int:
    config = WorkerConfig.from_env()
    if config.processes > 1:
        from media_worker.processes import run_processes

        return run_processes(config)
    # uvloop's event loop and datagram transport take about a tenth off the worker's per-packet
    # cost (`make bench`); aiortc runs on it unchanged.
    uvloop.run(serve(config))
    return 0


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format='{"time": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", '
        '"message": "%(message)s"}',
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    sys.exit(main())
