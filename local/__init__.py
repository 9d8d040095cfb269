"""The embedded default: the whole system on one machine, with moto standing in for AWS.

Never shipped to Lambda. It runs the same handlers as AWS does; only endpoints and
credentials differ.
"""
