"""The media workers on ECS Fargate: public IPs (media reaches them directly over UDP), a
fixed UDP port range, the credential from Secrets Manager, health checks, and autoscaling
on CPU and on active visits per worker process, never below one warm task.

Sizing has one input, the `worker_vcpus` context: a task of that many vCPUs runs one worker
process per vCPU, each holding media_worker.sizing.VISITS_PER_PROCESS visits (the figure
`make bench` measures). The setting names, the metric and the health check come from
media_worker itself (standard library modules, importable here: infra/main.py and the tests
put the repository root on sys.path), so that the worker and its stack cannot disagree.
"""

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

from media_worker import settings_names as worker_settings
from media_worker.health import HEALTH_CHECK_COMMAND, METRIC_NAME, SERVICE_DIMENSION, TRANSCODED_METRIC_NAME
from media_worker.sizing import CORE_BUDGET, VISITS_PER_PROCESS

# The image is built from the repository root: it holds media_worker/ and eclinic_protocol/
# (the root .dockerignore keeps the rest out).
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
WORKER_DOCKERFILE = "media_worker/Dockerfile"
METRICS_NAMESPACE = "eClinic"
SERVICE_NAME = "eclinic-media-worker"
# Fargate's CPU sizes in whole vCPUs; each holds 2 GiB of memory per vCPU at the least.
FARGATE_VCPUS = (1, 2, 4, 8, 16)
MEMORY_MIB_PER_VCPU = 2048


class WorkerSizing:
    """Everything the task's size decides, from its vCPUs and the visits one process holds."""

    def __init__(self, vcpus: int, visits_per_process: int = VISITS_PER_PROCESS) -> None:
        if vcpus not in FARGATE_VCPUS:
            raise ValueError(f"worker_vcpus must be one of {FARGATE_VCPUS}, not {vcpus!r}")
        self.vcpus = vcpus
        self.cpu = 1024 * vcpus  # CPU units
        self.memory_mib = MEMORY_MIB_PER_VCPU * vcpus
        self.processes = vcpus  # one worker process per vCPU
        self.visits_per_process = visits_per_process  # each process's ECLINIC_WORKER_CAPACITY
        self.visits_per_task = visits_per_process * self.processes
        # ActiveVisits is published by every process: its average is the visits per process.
        # Add a task before the last free slot of a process is taken.
        self.target_visits_per_process = max(1, visits_per_process - 1)


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
        sizing: WorkerSizing,
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
        self.sizing = sizing
        task = ecs.FargateTaskDefinition(self, "Task", cpu=sizing.cpu, memory_limit_mib=sizing.memory_mib)
        service_name = SERVICE_NAME
        task.add_container(
            "Worker",
            image=ecs.ContainerImage.from_asset(
                str(REPOSITORY_ROOT), file=WORKER_DOCKERFILE, platform=ecr_assets.Platform.LINUX_AMD64
            ),
            logging=ecs.LogDriver.aws_logs(stream_prefix="worker", log_group=self.log_group),
            environment={
                worker_settings.WS_URL: ws_url,
                worker_settings.PROCESSES: str(sizing.processes),
                worker_settings.CAPACITY: str(sizing.visits_per_process),
                worker_settings.FILES_BUCKET: bucket.bucket_name,
                worker_settings.FILES_KMS_KEY_ID: files_key.key_arn,
                worker_settings.METRICS_NAMESPACE: METRICS_NAMESPACE,
                worker_settings.SERVICE: service_name,
                worker_settings.STUN_URLS: "stun:stun.l.google.com:19302",
            },
            secrets={worker_settings.SECRET: ecs.Secret.from_secrets_manager(worker_secret)},
            health_check=ecs.HealthCheck(
                # Every worker process of the task alive and connected (media_worker.health).
                command=["CMD", *HEALTH_CHECK_COMMAND],
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
        # CPU is the second signal: past the share of a core that steady forwarding may take,
        # a process is busier than its visits say (transcoded streams, screenshots).
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=round(CORE_BUDGET * 100))

        def worker_metric(name: str, statistic: str, minutes: int) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={SERVICE_DIMENSION: service_name},
                statistic=statistic,
                period=cdk.Duration.minutes(minutes),
            )

        self.active_visits = worker_metric(METRIC_NAME, "Average", 1)
        # Legs with no shared codec: each such stream costs a decoder and an encoder. A gauge
        # of each process, so the busiest process is what the dashboard shows.
        self.transcoded_streams = worker_metric(TRANSCODED_METRIC_NAME, "Maximum", 5)
        scaling.scale_to_track_custom_metric(
            "VisitsPerWorkerProcess",
            metric=self.active_visits,
            target_value=sizing.target_visits_per_process,
            scale_in_cooldown=cdk.Duration.minutes(10),
            scale_out_cooldown=cdk.Duration.minutes(1),
        )
