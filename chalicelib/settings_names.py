"""The names of the functions' environment variables, each spelled here and nowhere else.

`chalicelib.config.Settings.from_env` reads them (`LOG_LEVEL` and `METRICS` are read by
`chalicelib.logs` and `chalicelib.metrics`), the stack (infra/eclinic_infra/stack.py) sets them
on the functions, and the local run (local/aws_standin.py) sets them for the app in its own
process; tests/infra/test_environment.py checks that the three agree. What each one means, its
default and who sets it: docs/operations.md. This module imports nothing, so that infra/ and the
local run can import it without the app's dependencies.
"""

from typing import Final

# Set by the Lambda platform (the region) or by the local run (the AWS stand-in's address).
REGION: Final = "AWS_REGION"
DEFAULT_REGION: Final = "AWS_DEFAULT_REGION"
ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"

# Where the data, the users and the files are.
TABLE_PREFIX: Final = "ECLINIC_TABLE_PREFIX"
USER_POOL_ID: Final = "ECLINIC_USER_POOL_ID"
USER_POOL_CLIENT_ID: Final = "ECLINIC_USER_POOL_CLIENT_ID"
JWKS_URL: Final = "ECLINIC_JWKS_URL"
FILES_BUCKET: Final = "ECLINIC_FILES_BUCKET"
FILES_KMS_KEY_ID: Final = "ECLINIC_FILES_KMS_KEY_ID"

# Mail, texts and the documents' events.
MAIL_SENDER: Final = "ECLINIC_MAIL_SENDER"
SES_CONFIGURATION_SET: Final = "ECLINIC_SES_CONFIGURATION_SET"
SMS_SENDER_ID: Final = "ECLINIC_SMS_SENDER_ID"
SMS_ORIGINATION_NUMBER: Final = "ECLINIC_SMS_ORIGINATION_NUMBER"
EVENT_BUS: Final = "ECLINIC_EVENT_BUS"
EVENT_SOURCE: Final = "ECLINIC_EVENT_SOURCE"

# The patients' links and the URLs of the APIs; on AWS the URLs come from one SSM parameter.
PUBLIC_BASE_URL: Final = "ECLINIC_PUBLIC_BASE_URL"
LINK_SECRET: Final = "ECLINIC_LINK_SECRET"  # noqa: S105 - the name of the setting, not its value
LINK_SECRET_ARN: Final = "ECLINIC_LINK_SECRET_ARN"  # noqa: S105
LINK_GRACE_MINUTES: Final = "ECLINIC_LINK_GRACE_MINUTES"
WS_MANAGEMENT_URL: Final = "ECLINIC_WS_MANAGEMENT_URL"
WS_URL: Final = "ECLINIC_WS_URL"
ENDPOINTS_PARAMETER: Final = "ECLINIC_ENDPOINTS_PARAMETER"

# The media workers' credential and what the browsers' peer connections are given.
WORKER_SECRET: Final = "ECLINIC_WORKER_SECRET"  # noqa: S105
WORKER_SECRET_ARN: Final = "ECLINIC_WORKER_SECRET_ARN"  # noqa: S105
ICE_SERVERS: Final = "ECLINIC_ICE_SERVERS"
ICE_TRANSPORT_POLICY: Final = "ECLINIC_ICE_TRANSPORT_POLICY"
TURN_URLS: Final = "ECLINIC_TURN_URLS"
TURN_SECRET: Final = "ECLINIC_TURN_SECRET"  # noqa: S105
TURN_SECRET_ARN: Final = "ECLINIC_TURN_SECRET_ARN"  # noqa: S105

# Reminders.
REMINDER_OFFSETS_MINUTES: Final = "ECLINIC_REMINDER_OFFSETS_MINUTES"
REMINDER_GROUP: Final = "ECLINIC_REMINDER_GROUP"
REMINDER_FUNCTION_ARN: Final = "ECLINIC_REMINDER_FUNCTION_ARN"
REMINDER_ROLE_ARN: Final = "ECLINIC_REMINDER_ROLE_ARN"

# What the functions log and whether they write business metrics (chalicelib.logs, .metrics).
LOG_LEVEL: Final = "ECLINIC_LOG_LEVEL"
METRICS: Final = "ECLINIC_METRICS"
