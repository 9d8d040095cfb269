"""The whole of eClinic on AWS: data, files, clinicians, mail, the API and its functions, the
media workers, and what operators watch. Resources follow what `chalicelib/` and
`media_worker/` actually use; every function role lists exactly the actions its code calls."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib.store.models import (
    AppointmentModel,
    AuditEventModel,
    ChatMessageModel,
    ConnectionModel,
    DocumentModel,
    ScreenshotModel,
    SealedAccessTokenModel,
    TaskModel,
)
from eclinic_infra.operations import Operations
from eclinic_infra.protection import ApiProtection
from eclinic_infra.reminders import ReminderSchedules
from eclinic_infra.tables import table_for
from eclinic_infra.turn import TurnService, TurnSizing
from eclinic_infra.worker import MediaWorkers, WorkerSizing

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = (
    "APIHandler",
    "WebsocketConnect",
    "WebsocketMessage",
    "WebsocketDisconnect",
    "SweepStaleConnections",
    "SendReminder",
)
# Table name suffixes as chalicelib.config.Settings derives them from ECLINIC_TABLE_PREFIX.
TABLES = {
    "appointments": AppointmentModel,
    "audit": AuditEventModel,
    "tasks": TaskModel,
    "connections": ConnectionModel,
    "messages": ChatMessageModel,
    "screenshots": ScreenshotModel,
    "documents": DocumentModel,
    "logins": SealedAccessTokenModel,
}
WS_STAGE = "api"
REST_STAGE = "api"
# The logical IDs `chalice package` gives the APIs (the SAM transform makes the REST stage).
REST_API = "RestAPI"
WS_API_STAGE = "WebsocketAPIStage"
# The append-only table: the functions may add and read its items, never change or remove one.
AUDIT_TABLE = "audit"
AUDIT_DENIED = (
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
)
# Every function's log group keeps its events this long, as the media workers' does (worker.py).
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# Stage throttling defaults (requests per second, steady and burst), overridable by context.
THROTTLING_DEFAULTS = {
    "rest_rate_limit": 100,
    "rest_burst_limit": 200,
    "ws_rate_limit": 200,
    "ws_burst_limit": 500,
}


class EclinicStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        if self.node.try_get_context("worker_capacity") is not None:
            raise ValueError("the worker_capacity context is gone: size the workers with worker_vcpus")
        stage = str(self.node.try_get_context("stage") or "prod")
        prefix = f"eclinic-{stage}-"

        sender = cdk.CfnParameter(
            self,
            "MailSender",
            type="String",
            default="no-reply@clinic.example",
            description="The address invitations come from; verify it in SES before the first mail.",
        )
        turn_urls = cdk.CfnParameter(
            self,
            "TurnUrls",
            type="CommaDelimitedList",
            default="",
            description="TURN URLs of other servers (turn:host:3478?transport=udp,...) to use instead of "
            "this stack's own TURN service; empty: the stack's own.",
        )
        turn_domain = cdk.CfnParameter(
            self,
            "TurnDomain",
            type="String",
            default="",
            description="A name for the TURN service (turn.your-clinic.example): an ACM certificate for it "
            "makes 443 TLS (turns:). Empty: plain TCP on 443.",
        )
        turn_zone = cdk.CfnParameter(
            self,
            "TurnHostedZoneId",
            type="String",
            default="",
            description="The Route 53 hosted zone of TurnDomain, to validate its certificate and point it at "
            "the TURN service; empty: add both DNS records yourself.",
        )
        alarm_email = cdk.CfnParameter(
            self,
            "AlarmEmail",
            type="String",
            default="",
            description="Who gets alarms (empty: subscribe later).",
        )
        require_mfa = cdk.CfnParameter(
            self,
            "RequireMfa",
            type="String",
            allowed_values=["false", "true"],
            default="false",
            description="true: every clinician must set up and use a TOTP app to sign in (MFA ON); "
            "false: TOTP is optional.",
        )
        sms_sender_id = cdk.CfnParameter(
            self,
            "SmsSenderId",
            type="String",
            default="",
            allowed_pattern="^[A-Za-z0-9-]{0,11}$",
            description="The alphanumeric sender ID texts come from (up to 11 letters and digits), where "
            "the destination country allows one and it is registered; empty: none.",
        )
        sms_origination_number = cdk.CfnParameter(
            self,
            "SmsOriginationNumber",
            type="String",
            default="",
            allowed_pattern="^$|^[+][1-9][0-9]{4,14}$",
            description="The origination number (E.164, from AWS End User Messaging SMS) texts come "
            "from, where the destination country requires one; empty: SNS chooses.",
        )
        auth_rate_limit = cdk.CfnParameter(
            self,
            "AuthRateLimit",
            type="Number",
            default=100,
            min_value=10,
            max_value=2_000_000_000,
            description="Requests per 5 minutes one IP address may make to /api/auth/ "
            "(sign-in, challenge, forgotten and reset passwords) before WAF blocks it.",
        )

        # -- data ----------------------------------------------------------------------------
        self.tables = {suffix: table_for(self, model, prefix + suffix) for suffix, model in TABLES.items()}

        # -- files -----------------------------------------------------------------------------
        self.files_key = kms.Key(
            self,
            "FilesKey",
            enable_key_rotation=True,
            description="eClinic screenshots and written information",
        )
        retention = int(self.node.try_get_context("file_retention_days") or 400)
        self.bucket = s3.Bucket(
            self,
            "Files",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.files_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=False,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="retention", expiration=cdk.Duration.days(retention))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

        # -- clinicians --------------------------------------------------------------------------
        self.user_pool = cognito.UserPool(
            self,
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
            self, "MfaRequired", expression=cdk.Fn.condition_equals(require_mfa.value_as_string, "true")
        )
        pool = self.user_pool.node.default_child
        assert isinstance(pool, cognito.CfnUserPool)
        pool.mfa_configuration = cdk.Fn.condition_if(mfa_required.logical_id, "ON", "OPTIONAL").to_string()
        for group in str(self.node.try_get_context("author_groups") or "").split(","):
            if ":" in group:
                group_id, name = group.split(":", 1)
                cognito.CfnUserPoolGroup(
                    self,
                    f"Group{group_id.title()}",
                    user_pool_id=self.user_pool.user_pool_id,
                    group_name=group_id.strip(),
                    description=name.strip(),
                )

        # -- mail and events ---------------------------------------------------------------------
        self.mail_events = sns.Topic(self, "MailFeedback", display_name="eClinic bounces and complaints")
        self.configuration_set = ses.ConfigurationSet(self, "Mail", reputation_metrics=True)
        self.configuration_set.add_event_destination(
            "BouncesAndComplaints",
            destination=ses.EventDestination.sns_topic(self.mail_events),
            events=[
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.REJECT,
            ],
        )
        self.sender_identity = ses.EmailIdentity(
            self,
            "Sender",
            identity=ses.Identity.email(sender.value_as_string),
            configuration_set=self.configuration_set,
        )
        self.bus = events.EventBus(self, "DocumentWorkflow", event_bus_name=f"eclinic-{stage}-documents")

        # -- secrets -------------------------------------------------------------------------------
        self.link_secret = secretsmanager.Secret(
            self,
            "LinkSecret",
            description="Derives patient link tokens; rotating it revokes every open link.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        self.turn_secret = secretsmanager.Secret(
            self,
            "TurnCredential",
            description="The secret shared with the TURN servers (coturn's static-auth-secret): each "
            "call's short-lived TURN credentials are made from it.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )
        self.worker_secret = secretsmanager.Secret(
            self,
            "WorkerSecret",
            description="Media workers' credential for the WebSocket API.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )

        # -- reminders -------------------------------------------------------------------------------
        self.reminders = ReminderSchedules(self, "Reminders", group_name=f"eclinic-{stage}-reminders")

        # -- API and functions -----------------------------------------------------------------------
        endpoints_parameter = f"/eclinic/{stage}/endpoints"
        self.role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
            ],
        )
        self.chalice = Chalice(
            self,
            "App",
            source_dir=str(ROOT),
            stage_config={
                "api_gateway_stage": REST_STAGE,
                "manage_iam_role": False,
                "iam_role_arn": self.role.role_arn,
                "lambda_memory_size": 512,
                "lambda_timeout": 30,
                "environment_variables": {
                    "ECLINIC_TABLE_PREFIX": prefix,
                    "ECLINIC_USER_POOL_ID": self.user_pool.user_pool_id,
                    "ECLINIC_USER_POOL_CLIENT_ID": self.web_client.user_pool_client_id,
                    "ECLINIC_MAIL_SENDER": sender.value_as_string,
                    "ECLINIC_SES_CONFIGURATION_SET": self.configuration_set.configuration_set_name,
                    "ECLINIC_EVENT_BUS": self.bus.event_bus_name,
                    "ECLINIC_FILES_BUCKET": self.bucket.bucket_name,
                    "ECLINIC_FILES_KMS_KEY_ID": self.files_key.key_arn,
                    "ECLINIC_LINK_SECRET_ARN": self.link_secret.secret_arn,
                    "ECLINIC_WORKER_SECRET_ARN": self.worker_secret.secret_arn,
                    "ECLINIC_ENDPOINTS_PARAMETER": endpoints_parameter,
                    # Browsers find their public address with STUN; TURN relays where UDP is blocked.
                    "ECLINIC_ICE_SERVERS": '[{"urls": ["stun:stun.l.google.com:19302"]}]',
                    "ECLINIC_TURN_SECRET_ARN": self.turn_secret.secret_arn,
                    "ECLINIC_METRICS": "emf",
                    "ECLINIC_SMS_SENDER_ID": sms_sender_id.value_as_string,
                    "ECLINIC_SMS_ORIGINATION_NUMBER": sms_origination_number.value_as_string,
                    # The reminder function's ARN comes with the endpoints parameter (a function
                    # naming itself in its environment would be a cycle).
                    "ECLINIC_REMINDER_GROUP": self.reminders.group_name,
                    "ECLINIC_REMINDER_ROLE_ARN": self.reminders.role.role_arn,
                },
            },
        )
        rest_api_id = self.chalice.get_resource(REST_API).ref
        ws_api_id = self.chalice.get_resource("WebsocketAPI").ref
        reminder_function_arn = self.chalice.get_resource("SendReminder").get_att("Arn").to_string()
        self.reminders.may_invoke(reminder_function_arn)
        self.page_url = _api_url("https", rest_api_id, REST_STAGE)
        self.ws_url = _api_url("wss", ws_api_id, WS_STAGE)
        self.endpoints = ssm.StringParameter(
            self,
            "Endpoints",
            parameter_name=endpoints_parameter,
            description="The APIs' URLs for the functions (in their environment they would be a cycle).",
            string_value=cdk.Fn.join(
                "",
                [
                    '{"public_base_url": "',
                    self.page_url,
                    '", "ws_url": "',
                    self.ws_url,
                    '", "ws_management_url": "',
                    _api_url("https", ws_api_id, WS_STAGE),
                    '", "reminder_function_arn": "',
                    reminder_function_arn,
                    '"}',
                ],
            ),
        )
        self._grant_functions(ws_api_id)
        # Each function logs to a group of its own with a retention (Lambda's implicit
        # /aws/lambda/... group would keep everything forever); the function waits for it.
        self.function_logs: dict[str, logs.LogGroup] = {}
        for name in FUNCTIONS:
            log_group = logs.LogGroup(
                self, f"{name}Logs", retention=LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY
            )
            self.chalice.get_resource(name).add_property_override(
                "LoggingConfig", {"LogGroup": log_group.log_group_name}
            )
            self.function_logs[name] = log_group
        self.api_origin = cdk.Fn.join(
            "", ["https://", rest_api_id, ".execute-api.", cdk.Aws.REGION, ".", cdk.Aws.URL_SUFFIX]
        )
        self.files_cors = self._files_cors(self.api_origin)

        # -- in front of the APIs ---------------------------------------------------------------------
        throttling = {
            key: float(self.node.try_get_context(key) or default)
            for key, default in THROTTLING_DEFAULTS.items()
        }
        self.protection = ApiProtection(
            self,
            "Protection",
            name=f"eclinic-{stage}-api",
            rest_api=self.chalice.get_resource(REST_API),
            rest_api_logical_id=REST_API,
            rest_stage=REST_STAGE,
            ws_stage=self.chalice.get_resource(WS_API_STAGE),
            auth_requests_per_window=auth_rate_limit,
            rest_rate=throttling["rest_rate_limit"],
            rest_burst=int(throttling["rest_burst_limit"]),
            ws_rate=throttling["ws_rate_limit"],
            ws_burst=int(throttling["ws_burst_limit"]),
        )

        # -- media workers ---------------------------------------------------------------------------
        worker_udp_ports = str(self.node.try_get_context("worker_udp_ports") or "40000-40999")
        self.workers = MediaWorkers(
            self,
            "MediaWorkers",
            ws_url=self.ws_url,
            worker_secret=self.worker_secret,
            bucket=self.bucket,
            files_key=self.files_key,
            udp_ports=worker_udp_ports,
            sizing=WorkerSizing(int(self.node.try_get_context("worker_vcpus") or 1)),
            max_tasks=int(self.node.try_get_context("worker_max_tasks") or 10),
        )

        # -- operations ---------------------------------------------------------------------------------
        self.operations = Operations(
            self,
            "Operations",
            functions={name: self.chalice.get_resource(name).ref for name in FUNCTIONS},
            rest_api_name="eclinic",
            tables=self.tables,
            workers=self.workers,
            alarm_email=alarm_email.value_as_string,
        )

        # -- TURN (coturn) ------------------------------------------------------------------------------
        self.turn = TurnService(
            self,
            "Turn",
            workers=self.workers,
            worker_udp_ports=worker_udp_ports,
            secret=self.turn_secret,
            domain=turn_domain.value_as_string,
            hosted_zone_id=turn_zone.value_as_string,
            other_urls=turn_urls.value_as_list,
            alarm_topic=self.operations.topic,
            dashboard=self.operations.dashboard,
            sizing=TurnSizing(
                self.node.try_get_context("turn_instance_type"),
                int(self.node.try_get_context("turn_baseline_mbps") or 0) or None,
                int(self.node.try_get_context("turn_max_instances") or 4),
            ),
        )
        for name in FUNCTIONS:  # set here: the service exists only now
            self.chalice.add_environment_variable("ECLINIC_TURN_URLS", self.turn.urls, name)
        cdk.CfnOutput(
            self,
            "ClinicianPageUrl",
            value=cdk.Fn.join("", [self.page_url, "/"]),
            description="The clinic schedule",
        )
        cdk.CfnOutput(self, "WebSocketUrl", value=self.ws_url, description="The WebSocket API")
        cdk.CfnOutput(
            self, "UserPoolId", value=self.user_pool.user_pool_id, description="Create clinicians here"
        )
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.operations.topic.topic_arn)

    def _files_cors(self, origin: str) -> cr.AwsCustomResource:
        """The clinician's page fetches a screenshot to save it: GET from the REST API's own origin,
        and no other. The bucket's CorsConfiguration cannot name the API (bucket -> API ->
        function -> bucket is a cycle), so a custom resource puts the rule once both exist."""
        put_cors = cr.AwsSdkCall(
            service="S3",
            action="putBucketCors",
            parameters={
                "Bucket": self.bucket.bucket_name,
                "CORSConfiguration": {
                    "CORSRules": [
                        {"AllowedMethods": ["GET"], "AllowedOrigins": [origin], "MaxAgeSeconds": 3600}
                    ]
                },
            },
            physical_resource_id=cr.PhysicalResourceId.of("files-cors"),
        )
        return cr.AwsCustomResource(
            self,
            "FilesCors",
            on_create=put_cors,
            on_update=put_cors,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["s3:PutBucketCORS"], resources=[self.bucket.bucket_arn])]
            ),
            install_latest_aws_sdk=False,
            log_group=logs.LogGroup(
                self, "FilesCorsLogs", retention=LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY
            ),
        )

    def _grant_functions(self, ws_api_id: str) -> None:
        """Exactly what chalicelib calls, on exactly these resources."""

        def with_indexes(arns: list[str]) -> list[str]:
            return [*arns, *(f"{arn}/index/*" for arn in arns)]

        audit_arn = self.tables[AUDIT_TABLE].table_arn
        table_arns = [t.table_arn for suffix, t in self.tables.items() if suffix != AUDIT_TABLE]
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:DescribeTable",
                ],
                resources=with_indexes(table_arns),
            )
        )
        # The audit trail is append-only: a new item (a conditional Put, alone or inside
        # TransactWriteItems, which IAM checks as PutItem) and reads. Nothing that changes or
        # removes an item, and an explicit Deny so that no later grant can add it.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"],
                resources=with_indexes([audit_arn]),
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=[*AUDIT_DENIED],
                resources=with_indexes([audit_arn]),
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ses:SendRawEmail", "ses:SendEmail"],
                resources=[
                    self.format_arn(
                        service="ses",
                        resource="identity",
                        resource_name=self.sender_identity.email_identity_name,
                    ),
                    self.format_arn(
                        service="ses",
                        resource="configuration-set",
                        resource_name=self.configuration_set.configuration_set_name,
                    ),
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.bus.event_bus_arn])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["execute-api:ManageConnections"],
                resources=[
                    self.format_arn(
                        service="execute-api",
                        resource=ws_api_id,
                        resource_name=f"{WS_STAGE}/*/@connections/*",
                    )
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "cognito-idp:ListGroups",
                    "cognito-idp:AdminInitiateAuth",
                    "cognito-idp:AdminRespondToAuthChallenge",
                ],
                resources=[self.user_pool.user_pool_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[
                    self.bucket.arn_for_objects("screenshots/*"),
                    self.bucket.arn_for_objects("documents/*"),
                ],
            )
        )
        # A picture the worker put after the patient's consent expired is deleted (and that audited).
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:DeleteObject"], resources=[self.bucket.arn_for_objects("screenshots/*")]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.files_key.key_arn]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[
                    self.link_secret.secret_arn,
                    self.worker_secret.secret_arn,
                    self.turn_secret.secret_arn,
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.endpoints.parameter_arn])
        )
        self.reminders.grant_planning(self.role)
        # Texts go straight to phone numbers (chalicelib/texts/sender.py): an SMS publish has no
        # resource to name, so it is allowed on "*" and publishing to any topic is denied.
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"], resources=["*"])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["sns:Publish"],
                resources=[self.format_arn(service="sns", region="*", account="*", resource="*")],
            )
        )


def _api_url(scheme: str, api_id: str, stage: str) -> str:
    return cdk.Fn.join(
        "", [scheme, "://", api_id, ".execute-api.", cdk.Aws.REGION, ".", cdk.Aws.URL_SUFFIX, "/", stage]
    )
