"""The TURN service's instances: the EC2 Auto Scaling group that runs coturn, how each instance
boots (its user data: the settings, eclinic_turn.py and the turnserver.conf template from
infra/turn/, and bootstrap.sh), its role, and how the group scales on the bandwidth the relay
sends. turn.py explains why coturn runs on instances and how the balancer sits in front.

The resources are made in the TurnService construct's scope, with the ids they have always
had, so that moving them here renamed nothing in the template.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

FILES = Path(__file__).resolve().parents[1] / "turn"
SCRIPT = FILES / "eclinic_turn.py"
TEMPLATE = FILES / "turnserver.conf"
BOOTSTRAP = FILES / "bootstrap.sh"
LIB = "/usr/local/lib/eclinic-turn"

TURN_PORT = 3478  # UDP and TCP, on the balancer and on the instances
RELAY_PORTS = (49152, 65535)  # coturn's own default range; reachable from the workers only
REALM = "eclinic"
SECRET_SYNC_SECONDS = 60
# Scale out before the relayed media takes this share of an instance's baseline bandwidth.
NETWORK_BUDGET = 0.6
NETWORK_ALARM = 0.8
# Ubuntu 24.04 LTS, published by Canonical as a public SSM parameter (resolved at deploy time).
UBUNTU_AMI = "/aws/service/canonical/ubuntu/server/24.04/stable/current/{arch}/hvm/ebs-gp3/ami-id"
DEFAULT_INSTANCE_TYPE = "t4g.small"
DEFAULT_BASELINE_MBPS = 128  # t4g.small's baseline network bandwidth, 0.128 Gbit/s


class TurnSizing:
    """The instance type and the figures that follow from its network baseline."""

    def __init__(
        self, instance_type: str | None = None, baseline_mbps: int | None = None, max_instances: int = 4
    ) -> None:
        if instance_type and instance_type != DEFAULT_INSTANCE_TYPE and not baseline_mbps:
            raise ValueError(
                "turn_instance_type needs turn_baseline_mbps: the type's baseline network bandwidth "
                "(aws ec2 describe-instance-types), which the scaling and the alarm are set from"
            )
        if max_instances < 1:
            raise ValueError("turn_max_instances must be at least 1")
        self.instance_type = ec2.InstanceType(instance_type or DEFAULT_INSTANCE_TYPE)
        self.baseline_mbps = baseline_mbps or DEFAULT_BASELINE_MBPS
        self.max_instances = max_instances
        # EC2's NetworkOut samples are bytes per minute (ASGAverageNetworkOut averages them over
        # the group's instances): the scaling target and the alarm are in bytes per minute.
        baseline_bytes_per_minute = self.baseline_mbps * 1_000_000 / 8 * 60
        self.target_bytes_per_minute = round(baseline_bytes_per_minute * NETWORK_BUDGET)
        self.alarm_bytes_per_minute = round(baseline_bytes_per_minute * NETWORK_ALARM)

    @property
    def architecture(self) -> str:
        arm = self.instance_type.architecture == ec2.InstanceArchitecture.ARM_64
        return "arm64" if arm else "amd64"


class TurnInstances:
    """The group of coturn instances in the VPC's public subnets, in `security_group`."""

    def __init__(
        self,
        scope: Construct,
        *,
        vpc: ec2.IVpc,
        secret: secretsmanager.ISecret,
        security_group: ec2.ISecurityGroup,
        sizing: TurnSizing,
    ) -> None:
        self.role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="eClinic TURN instances: read the TURN secret",
            # Session Manager for operators (no SSH port): journalctl -u coturn, turnutils_uclient.
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn])
        )
        settings = {
            "AWS_REGION": cdk.Aws.REGION,
            "ECLINIC_TURN_SECRET_ARN": secret.secret_arn,
            "ECLINIC_TURN_REALM": REALM,
            "ECLINIC_TURN_DB": "/var/lib/turn/turndb",
            "ECLINIC_TURN_PORT": str(TURN_PORT),
            "ECLINIC_TURN_RELAY_PORTS": "-".join(str(p) for p in RELAY_PORTS),
            "ECLINIC_TURN_PEER_CIDRS": cdk.Fn.join(",", [s.ipv4_cidr_block for s in vpc.public_subnets]),
            "ECLINIC_TURN_SYNC_SECONDS": str(SECRET_SYNC_SECONDS),
        }
        self.user_data = ec2.UserData.for_linux()
        self.user_data.add_commands(
            "set -euo pipefail",
            *(f"export {name}='{value}'" for name, value in settings.items()),
            _file(f"{LIB}/{SCRIPT.name}", SCRIPT.read_text()),
            _file(f"{LIB}/{TEMPLATE.name}", TEMPLATE.read_text()),
            BOOTSTRAP.read_text(),
        )
        self.sizing = sizing
        launch_template = ec2.LaunchTemplate(
            scope,
            "LaunchTemplate",
            instance_type=sizing.instance_type,
            machine_image=ec2.MachineImage.from_ssm_parameter(
                UBUNTU_AMI.format(arch=sizing.architecture), os=ec2.OperatingSystemType.LINUX
            ),
            user_data=self.user_data,
            role=self.role,
            security_group=security_group,
            associate_public_ip_address=True,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            detailed_monitoring=True,  # one-minute metrics for the scaling policies
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/sda1",
                    volume=ec2.BlockDeviceVolume.ebs(
                        8, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                    ),
                )
            ],
        )
        self.group = autoscaling.AutoScalingGroup(
            scope,
            "Group",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            launch_template=launch_template,
            min_capacity=1,  # one warm instance, as for the workers
            max_capacity=sizing.max_instances,
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=cdk.Duration.minutes(5),
            ),
            default_instance_warmup=cdk.Duration.minutes(5),
            # A replacement is in service before the instance it replaces goes.
            min_healthy_percentage=100,
            max_healthy_percentage=200,
        )
        # The relay is bound by bandwidth: scale on what it sends, and on CPU as the workers do.
        autoscaling.TargetTrackingScalingPolicy(
            scope,
            "NetworkOut",
            auto_scaling_group=self.group,
            predefined_metric=autoscaling.PredefinedMetric.ASG_AVERAGE_NETWORK_OUT,
            target_value=sizing.target_bytes_per_minute,
        )
        self.group.scale_on_cpu_utilization("Cpu", target_utilization_percent=70)


def _file(path: str, text: str) -> str:
    """A shell command that writes `text` to `path` as it is (a quoted here-document)."""
    marker = "ECLINIC_TURN_FILE"
    assert marker not in text
    return f"install -d {Path(path).parent}\ncat > {path} <<'{marker}'\n{text.rstrip()}\n{marker}"
