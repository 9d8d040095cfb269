"""Structured JSON logs through Powertools for AWS Lambda's Logger.

Chosen over hand-rolled JSON logging because it adds the Lambda request id and cold-start
flag for free and is what operators query in CloudWatch Logs Insights. Log ids, states and
error codes only: never a patient's name, email, chat text or any token.
"""

from __future__ import annotations

import functools
import os

from aws_lambda_powertools import Logger

from chalicelib import settings_names as names


@functools.cache
def logger() -> Logger:
    # Not "eclinic": that is the Chalice app's own logger, whose handler would print every line twice.
    return Logger(service="eclinic-api", level=os.environ.get(names.LOG_LEVEL, "INFO"))
