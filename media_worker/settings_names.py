"""The names of the media worker's environment variables, each spelled here and nowhere else.

`media_worker.config.WorkerConfig.from_env` reads them, the stack (infra/eclinic_infra/worker.py)
sets them on the worker's container, and the local run (local/__main__.py) sets them for the
worker process it starts; tests/infra/test_environment.py checks that the three agree. What each
one means, its default and who sets it: docs/operations.md. This module imports nothing, so that
infra/ and the local run can import it without aiortc.
"""

from typing import Final

WS_URL: Final = "ECLINIC_WORKER_WS_URL"
SECRET: Final = "ECLINIC_WORKER_SECRET"  # noqa: S105 - the name of the setting, not its value
WORKER_ID: Final = "ECLINIC_WORKER_ID"
CAPACITY: Final = "ECLINIC_WORKER_CAPACITY"  # visits per worker process
PROCESSES: Final = "ECLINIC_WORKER_PROCESSES"  # worker processes in this container (one per vCPU)
PROCESS_INDEX: Final = "ECLINIC_WORKER_PROCESS_INDEX"  # set by the entry point for each of its processes
FILES_BUCKET: Final = "ECLINIC_FILES_BUCKET"
FILES_KMS_KEY_ID: Final = "ECLINIC_FILES_KMS_KEY_ID"
REGION: Final = "AWS_REGION"  # set by the platform
DEFAULT_REGION: Final = "AWS_DEFAULT_REGION"
ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"  # the local run's AWS stand-in
PEER_CONNECT_TIMEOUT: Final = "ECLINIC_PEER_CONNECT_TIMEOUT"
HEARTBEAT: Final = "ECLINIC_WORKER_HEARTBEAT"
STUN_URLS: Final = "ECLINIC_WORKER_STUN_URLS"
METRICS_NAMESPACE: Final = "ECLINIC_METRICS_NAMESPACE"  # unset: no load metric (the local run)
SERVICE: Final = "ECLINIC_WORKER_SERVICE"  # the load metric's Service dimension
RELAY: Final = "ECLINIC_WORKER_RELAY"
