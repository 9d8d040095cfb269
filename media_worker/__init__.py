"""eClinic's media worker: relays a visit's audio and video between patient and clinician
through aiortc, and takes consented screenshots. Runs as its own container; aiortc and av
never enter the Lambda bundle."""
