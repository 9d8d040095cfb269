"""How many visits one worker process holds: the one figure that the worker's default capacity and
the deployment's sizing (processes per task, capacity per process, the autoscaling target) derive
from. It imports nothing: infra/ imports this module to size the Fargate task."""

# Visits one worker process (one core) relays at once, every receiver at full frame rate.
# The figure comes from `make bench` (`python -m bench media`, "visits one core holds"); change it
# here after measuring, nothing else holds a copy. 16 is not yet a measured figure: it stands in
# until the forwarding relay has been benchmarked.
VISITS_PER_PROCESS = 16
