"""The stack's CloudFormation parameters: what an operator sets at deploy time (the mail sender,
TURN, alarms, MFA, texts, the sign-in rate limit), as opposed to the `-c` context values that
shape the synthesized template. Kept apart so that one place lists every knob a deployment has
(docs/operations.md describes them).

They are created in the stack's own scope, with the ids they have always had: a parameter's id is
its name in the template.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct


class StackParameters:
    """The parameters, each as the CfnParameter the resources refer to."""

    def __init__(self, scope: Construct) -> None:
        self.sender = cdk.CfnParameter(
            scope,
            "MailSender",
            type="String",
            default="no-reply@clinic.example",
            description="The address invitations come from; verify it in SES before the first mail.",
        )
        self.turn_urls = cdk.CfnParameter(
            scope,
            "TurnUrls",
            type="CommaDelimitedList",
            default="",
            description="TURN URLs of other servers (turn:host:3478?transport=udp,...) to use instead of "
            "this stack's own TURN service; empty: the stack's own.",
        )
        self.turn_domain = cdk.CfnParameter(
            scope,
            "TurnDomain",
            type="String",
            default="",
            description="A name for the TURN service (turn.your-clinic.example): an ACM certificate for it "
            "makes 443 TLS (turns:). Empty: plain TCP on 443.",
        )
        self.turn_zone = cdk.CfnParameter(
            scope,
            "TurnHostedZoneId",
            type="String",
            default="",
            description="The Route 53 hosted zone of TurnDomain, to validate its certificate and point it at "
            "the TURN service; empty: add both DNS records yourself.",
        )
        self.alarm_email = cdk.CfnParameter(
            scope,
            "AlarmEmail",
            type="String",
            default="",
            description="Who gets alarms (empty: subscribe later).",
        )
        self.require_mfa = cdk.CfnParameter(
            scope,
            "RequireMfa",
            type="String",
            allowed_values=["false", "true"],
            default="false",
            description="true: every clinician must set up and use a TOTP app to sign in (MFA ON); "
            "false: TOTP is optional.",
        )
        self.sms_sender_id = cdk.CfnParameter(
            scope,
            "SmsSenderId",
            type="String",
            default="",
            allowed_pattern="^[A-Za-z0-9-]{0,11}$",
            description="The alphanumeric sender ID texts come from (up to 11 letters and digits), where "
            "the destination country allows one and it is registered; empty: none.",
        )
        self.sms_origination_number = cdk.CfnParameter(
            scope,
            "SmsOriginationNumber",
            type="String",
            default="",
            allowed_pattern="^$|^[+][1-9][0-9]{4,14}$",
            description="The origination number (E.164, from AWS End User Messaging SMS) texts come "
            "from, where the destination country requires one; empty: SNS chooses.",
        )
        self.auth_rate_limit = cdk.CfnParameter(
            scope,
            "AuthRateLimit",
            type="Number",
            default=100,
            min_value=10,
            max_value=2_000_000_000,
            description="Requests per 5 minutes one IP address may make to /api/auth/ "
            "(sign-in, challenge, forgotten and reset passwords) before WAF blocks it.",
        )
