"""The media workers on ECS Fargate: public IPs (media reaches them directly over UDP), a
fixed UDP port range, the credential from Secrets Manager, health checks, and autoscaling
on CPU and on active visits per task, never below one warm worker."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

WORKER_DIR = Path(__file__).resolve().parents[2] / "media_worker"
METRICS_NAMESPACE = "eClinic"
HEALTH_CHECK = (
    'python -c "import os, sys, time; '
    "sys.exit(0 if time.time() - os.path.getmtime('/tmp/eclinic-worker-alive') < 90 else 1)\""
)


class MediaWorkers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ws_url: str,
        worker_secret: secretsmanager.ISecret,
        bucket: s3.IBucket,
        files_key: kms.IKey,
        udp_ports: str,
        capacity: int,
        max_tasks: int,
    ) -> None:
        super().__init__(scope, construct_id)
        first_port, last_port = (int(p) for p in udp_ports.split("-"))
        self.vpc = ec2.Vpc(
            self,
            "Network",
            max_azs=2,
            nat_gateways=0,  # tasks have public IPs; nothing private needs the internet
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
        )
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "Media",
            vpc=self.vpc,
            description="eClinic media workers: SRTP over UDP",
            allow_all_outbound=True,
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.udp_range(first_port, last_port),
            "browsers' media (ICE/DTLS/SRTP) to the worker",
        )
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        task = ecs.FargateTaskDefinition(self, "Task", cpu=1024, memory_limit_mib=2048)
        service_name = "eclinic-media-worker"
        task.add_container(
            "Worker",
            image=ecs.ContainerImage.from_asset(str(WORKER_DIR), platform=ecr_assets.Platform.LINUX_AMD64),
            logging=ecs.LogDriver.aws_logs(stream_prefix="worker", log_group=self.log_group),
            environment={
                "ECLINIC_WORKER_WS_URL": ws_url,
                "ECLINIC_WORKER_CAPACITY": str(capacity),
                "ECLINIC_FILES_BUCKET": bucket.bucket_name,
                "ECLINIC_FILES_KMS_KEY_ID": files_key.key_arn,
                "ECLINIC_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "ECLINIC_WORKER_SERVICE": service_name,
                "ECLINIC_WORKER_STUN_URLS": "stun:stun.l.google.com:19302",
            },
            secrets={"ECLINIC_WORKER_SECRET": ecs.Secret.from_secrets_manager(worker_secret)},
            health_check=ecs.HealthCheck(
                command=["CMD-SHELL", HEALTH_CHECK],
                interval=cdk.Duration.seconds(30),
                retries=3,
                start_period=cdk.Duration.seconds(60),
            ),
            stop_timeout=cdk.Duration.seconds(30),
            system_controls=[
                # aioice binds ephemeral ports: the kernel's range is the worker's media range.
                ecs.SystemControl(namespace="net.ipv4.ip_local_port_range", value=f"{first_port} {last_port}")
            ],
        )
        bucket.grant_put(task.task_role, "screenshots/*")
        files_key.grant_encrypt(task.task_role)
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource; the condition pins the namespace
                conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            )
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=service_name,
            cluster=self.cluster,
            task_definition=task,
            desired_count=1,
            assign_public_ip=True,
            security_groups=[self.security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        scaling = self.service.auto_scale_task_count(min_capacity=1, max_capacity=max_tasks)
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        self.active_visits = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="ActiveVisits",
            dimensions_map={"Service": service_name},
            statistic="Average",
            period=cdk.Duration.minutes(1),
        )
        scaling.scale_to_track_custom_metric(
            "VisitsPerTask",
            metric=self.active_visits,
            target_value=max(1, capacity - 1),  # add a task before the last free slot is taken
            scale_in_cooldown=cdk.Duration.minutes(10),
            scale_out_cooldown=cdk.Duration.minutes(1),
        )
