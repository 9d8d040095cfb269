"""The clinicians' accounts: a Cognito user pool that only administrators add people to, the
web client the API signs them in with, TOTP that the RequireMfa parameter can make compulsory,
and a group per author (the `author_groups` context).

The resources are made in the stack's own scope, with the ids they have always had, so that
moving them here renamed nothing in the template.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct


class Clinicians:
    """The user pool and its web client. `author_groups` is "id:Name,id:Name"."""

    def __init__(self, scope: Construct, *, require_mfa: str, author_groups: str) -> None:
        self.user_pool = cognito.UserPool(
            scope,
            "Clinicians",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=True, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,  # or ON: the RequireMfa parameter, below
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            # A changed email stays unverified, and the old one in place, until its code is
            # confirmed: nobody takes a colleague's address by typing it in.
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            keep_original=cognito.KeepOriginalAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.web_client = self.user_pool.add_client(
            "Web",
            # Only the API logs in (AdminInitiateAuth, with the caller's ContextData), behind
            # the WAF's rate rule: no public password or SRP flow to call Cognito with directly.
            auth_flows=cognito.AuthFlow(admin_user_password=True),
            generate_secret=False,
            id_token_validity=cdk.Duration.hours(1),
            prevent_user_existence_errors=True,
            read_attributes=cognito.ClientAttributes().with_standard_attributes(email=True, fullname=True),
            # Email and name identify a clinician (the audit trail shows them): only an
            # administrator sets them. Cognito reads an empty list as "every standard attribute",
            # so the list names one attribute nothing reads.
            write_attributes=cognito.ClientAttributes().with_standard_attributes(locale=True),
        )
        mfa_required = cdk.CfnCondition(
            scope, "MfaRequired", expression=cdk.Fn.condition_equals(require_mfa, "true")
        )
        pool = self.user_pool.node.default_child
        assert isinstance(pool, cognito.CfnUserPool)
        pool.mfa_configuration = cdk.Fn.condition_if(mfa_required.logical_id, "ON", "OPTIONAL").to_string()
        for group in author_groups.split(","):
            if ":" in group:
                group_id, name = group.split(":", 1)
                cognito.CfnUserPoolGroup(
                    scope,
                    f"Group{group_id.title()}",
                    user_pool_id=self.user_pool.user_pool_id,
                    group_name=group_id.strip(),
                    description=name.strip(),
                )
