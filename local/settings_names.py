"""The names of the local run's own environment variables: where it listens, the AWS SDK's
credentials, which on AWS the platform gives the functions and the worker and which here are
the stand-in's dummies, and the switch that has moto check authenticator-app codes.

The app's and the worker's settings have their names in chalicelib.settings_names and
media_worker.settings_names; tests/infra/test_environment.py checks that every variable the local
run sets is one of these three modules' names.
"""

from typing import Final

PORT: Final = "ECLINIC_PORT"
HOST: Final = "ECLINIC_HOST"
ACCESS_KEY_ID: Final = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY: Final = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - the name of the setting, not its value
SESSION_TOKEN: Final = "AWS_SESSION_TOKEN"  # noqa: S105
MOTO_TOTP: Final = "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"
