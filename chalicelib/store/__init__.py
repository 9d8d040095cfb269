"""Persistence: one port per kind of record (`ports.py`), its PynamoDB adapter (a module per
kind, over the tables `models.py` describes) and in-memory fakes (`memory.py`)."""
