"""The domain: appointments, their state machine and input rules. No AWS, no I/O."""
