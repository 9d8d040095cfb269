"""Reminders on a timer: the scheduler port that plans them and its adapters."""
