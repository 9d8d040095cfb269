"""How many visits one worker process holds: the one figure that the worker's default capacity and
the deployment's sizing (processes per task, capacity per process, the autoscaling target) derive
from. It imports nothing: infra/ imports this module to size the Fargate task."""

# A core's share one visit costs the forwarding relay (two 640x480 30 fps VP8 cameras at about
# 1 Mbit/s and two Opus microphones): `make bench` (`python -m bench media`), the ramp of
# "capacity", at 20 visits on one core: 0.93 of it, every receiver at 30 fps (2026-12-02, the
# 2-core development machine; the same ramp held 28 visits at >= 25 fps before the simulated
# browsers' own core ran out). Measure again and change it here: nothing else holds a copy.
CORE_SHARE_PER_VISIT = 0.047
# What steady forwarding may take of a process's core. The rest absorbs keyframe bursts, the
# screenshot decoder's thread, RTCP and signalling; a stream transcoded because its legs share no
# codec (about a quarter of a core) does not fit in it, which is why the relay avoids them.
CORE_BUDGET = 0.8

VISITS_PER_PROCESS = int(CORE_BUDGET / CORE_SHARE_PER_VISIT)  # 17
