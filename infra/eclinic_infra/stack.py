"""The whole of eClinic on AWS: data, files, clinicians, mail, the API and its functions, the
media workers, and what operators watch. Resources follow what `chalicelib/` and
`media_worker/` actually use; every function role lists exactly the actions its code calls.

This module wires the parts together (each part's module says what it is) and sets what every
function finds in its environment. The parts create their resources in this stack's own scope
or as constructs of their own, with the ids they have always had.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from constructs import Construct

from chalicelib import settings_names as function_settings
from chalicelib.store.models import (
    AppointmentModel,
    AuditEventModel,
    ChatMessageModel,
    ConnectionModel,
    DocumentModel,
    GuestModel,
    ScreenshotModel,
    SealedAccessTokenModel,
    TaskModel,
)
from eclinic_infra.clinicians import Clinicians
from eclinic_infra.files import Files
from eclinic_infra.function_permissions import grant_functions
from eclinic_infra.functions import FUNCTIONS, REST_API, REST_STAGE, WS_API_STAGE, Functions
from eclinic_infra.mail import Mail
from eclinic_infra.operations import Operations
from eclinic_infra.parameters import StackParameters
from eclinic_infra.protection import ApiProtection
from eclinic_infra.reminders import ReminderSchedules
from eclinic_infra.shared_secrets import SharedSecrets
from eclinic_infra.tables import table_for
from eclinic_infra.turn import TurnService, TurnSizing
from eclinic_infra.worker import MediaWorkers, WorkerSizing

# The tests and the docs name the functions by handler as this module does.
__all__ = ["FUNCTIONS", "TABLES", "EclinicStack"]

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
    "guests": GuestModel,
}
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
        parameters = StackParameters(self)

        # -- data, files, clinicians, mail and events, secrets, reminders -------------------------
        self.tables = {suffix: table_for(self, model, prefix + suffix) for suffix, model in TABLES.items()}
        self.files = Files(self, retention_days=int(self.node.try_get_context("file_retention_days") or 400))
        self.clinicians = Clinicians(
            self,
            require_mfa=parameters.require_mfa.value_as_string,
            author_groups=str(self.node.try_get_context("author_groups") or ""),
        )
        self.mail = Mail(self, sender=parameters.sender.value_as_string)
        self.bus = events.EventBus(self, "DocumentWorkflow", event_bus_name=f"eclinic-{stage}-documents")
        self.secrets = SharedSecrets(self)
        self.reminders = ReminderSchedules(self, "Reminders", group_name=f"eclinic-{stage}-reminders")

        # -- API and functions -----------------------------------------------------------------------
        endpoints_parameter = f"/eclinic/{stage}/endpoints"
        self.functions = Functions(
            self,
            endpoints_parameter=endpoints_parameter,
            environment={
                function_settings.TABLE_PREFIX: prefix,
                function_settings.USER_POOL_ID: self.clinicians.user_pool.user_pool_id,
                function_settings.USER_POOL_CLIENT_ID: self.clinicians.web_client.user_pool_client_id,
                function_settings.MAIL_SENDER: parameters.sender.value_as_string,
                function_settings.SES_CONFIGURATION_SET: self.mail.configuration_set.configuration_set_name,
                function_settings.EVENT_BUS: self.bus.event_bus_name,
                function_settings.FILES_BUCKET: self.files.bucket.bucket_name,
                function_settings.FILES_KMS_KEY_ID: self.files.key.key_arn,
                function_settings.LINK_SECRET_ARN: self.secrets.link.secret_arn,
                function_settings.WORKER_SECRET_ARN: self.secrets.worker.secret_arn,
                function_settings.ENDPOINTS_PARAMETER: endpoints_parameter,
                # Browsers find their public address with STUN; TURN relays where UDP is blocked.
                function_settings.ICE_SERVERS: '[{"urls": ["stun:stun.l.google.com:19302"]}]',
                function_settings.TURN_SECRET_ARN: self.secrets.turn.secret_arn,
                function_settings.METRICS: "emf",
                function_settings.SMS_SENDER_ID: parameters.sms_sender_id.value_as_string,
                function_settings.SMS_ORIGINATION_NUMBER: parameters.sms_origination_number.value_as_string,
                # The reminder function's ARN comes with the endpoints parameter (a function
                # naming itself in its environment would be a cycle).
                function_settings.REMINDER_GROUP: self.reminders.group_name,
                function_settings.REMINDER_ROLE_ARN: self.reminders.role.role_arn,
            },
        )
        self.reminders.may_invoke(self.functions.reminder_function_arn)
        grant_functions(
            self.functions.role,
            ws_api_id=self.functions.ws_api_id,
            tables=self.tables,
            mail=self.mail,
            bus=self.bus,
            user_pool=self.clinicians.user_pool,
            files=self.files,
            secrets=self.secrets,
            endpoints=self.functions.endpoints,
            reminders=self.reminders,
        )
        self.function_logs = self.functions.add_log_groups()
        self.files_cors = self.files.allow_page_origin(self.functions.api_origin)

        # -- in front of the APIs ---------------------------------------------------------------------
        throttling = {
            key: float(self.node.try_get_context(key) or default)
            for key, default in THROTTLING_DEFAULTS.items()
        }
        self.protection = ApiProtection(
            self,
            "Protection",
            name=f"eclinic-{stage}-api",
            rest_api=self.functions.chalice.get_resource(REST_API),
            rest_api_logical_id=REST_API,
            rest_stage=REST_STAGE,
            ws_stage=self.functions.chalice.get_resource(WS_API_STAGE),
            auth_requests_per_window=parameters.auth_rate_limit,
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
            ws_url=self.functions.ws_url,
            worker_secret=self.secrets.worker,
            bucket=self.files.bucket,
            files_key=self.files.key,
            udp_ports=worker_udp_ports,
            sizing=WorkerSizing(int(self.node.try_get_context("worker_vcpus") or 1)),
            max_tasks=int(self.node.try_get_context("worker_max_tasks") or 10),
        )

        # -- operations ---------------------------------------------------------------------------------
        self.operations = Operations(
            self,
            "Operations",
            functions=self.functions.function_refs(),
            rest_api_name="eclinic",
            tables=self.tables,
            workers=self.workers,
            alarm_email=parameters.alarm_email.value_as_string,
        )

        # -- TURN (coturn) ------------------------------------------------------------------------------
        self.turn = TurnService(
            self,
            "Turn",
            workers=self.workers,
            worker_udp_ports=worker_udp_ports,
            secret=self.secrets.turn,
            domain=parameters.turn_domain.value_as_string,
            hosted_zone_id=parameters.turn_zone.value_as_string,
            other_urls=parameters.turn_urls.value_as_list,
            alarm_topic=self.operations.topic,
            dashboard=self.operations.dashboard,
            sizing=TurnSizing(
                self.node.try_get_context("turn_instance_type"),
                int(self.node.try_get_context("turn_baseline_mbps") or 0) or None,
                int(self.node.try_get_context("turn_max_instances") or 4),
            ),
        )
        # Set here: the service exists only now.
        self.functions.add_environment_variable(function_settings.TURN_URLS, self.turn.urls)
        cdk.CfnOutput(
            self,
            "ClinicianPageUrl",
            value=cdk.Fn.join("", [self.functions.page_url, "/"]),
            description="The clinic schedule",
        )
        cdk.CfnOutput(self, "WebSocketUrl", value=self.functions.ws_url, description="The WebSocket API")
        cdk.CfnOutput(
            self,
            "UserPoolId",
            value=self.clinicians.user_pool.user_pool_id,
            description="Create clinicians here",
        )
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.operations.topic.topic_arn)
