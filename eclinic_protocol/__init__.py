"""eClinic's websocket protocol: every message between the pages, the server and the media
workers, defined once. docs/protocol.md describes each message, who sends it and who handles
it; tests/docs/test_docs.py checks its tables against these definitions.

Standard library only, so that both deployables ship it: the Lambda bundle (through the
symlink vendor/eclinic_protocol) and the worker image (media_worker/Dockerfile copies it).

  from_browser  the pages' messages, parsed by the server (CLINICIAN_SENDS, PATIENT_SENDS)
  to_browser    the server's messages to the pages (CLINICIAN_RECEIVES, PATIENT_RECEIVES)
  from_worker   the worker's messages, parsed by the server (WORKER_SENDS)
  to_worker     the server's messages to a worker, parsed by it (WORKER_RECEIVES)
  envelope      what every message is (`Message`: `to_json`, `parse`), and `error`
  fields        how each kind of field is read; errors.ProtocolError names a wrong one
  mlines        the order of a call's m-lines (audio, video, screen)

The pages' copy of the type names and the m-line order is templates/pages/assets/protocol.js.
"""
