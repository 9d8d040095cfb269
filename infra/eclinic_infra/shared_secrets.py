"""The three generated secrets the stack's parts share: the one patient links are derived from,
the one coturn and the functions make TURN credentials from, and the media workers' credential
for the WebSocket API. Each is read by ARN where it is used (never put in an environment).

The secrets are made in the stack's own scope, with the ids they have always had, so that moving
them here renamed nothing in the template.
"""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


class SharedSecrets:
    def __init__(self, scope: Construct) -> None:
        self.link = secretsmanager.Secret(
            scope,
            "LinkSecret",
            description="Derives patient link tokens; rotating it revokes every open link.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        self.turn = secretsmanager.Secret(
            scope,
            "TurnCredential",
            description="The secret shared with the TURN servers (coturn's static-auth-secret): each "
            "call's short-lived TURN credentials are made from it.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )
        self.worker = secretsmanager.Secret(
            scope,
            "WorkerSecret",
            description="Media workers' credential for the WebSocket API.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
