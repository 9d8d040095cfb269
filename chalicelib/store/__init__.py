"""Persistence: the repository port, its PynamoDB adapter and an in-memory fake."""
