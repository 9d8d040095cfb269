"""coturn, the TURN server, as a service of its own: an EC2 Auto Scaling group behind a Network
Load Balancer. Browsers that cannot send UDP to the media workers reach it on UDP 3478, TCP 3478
and TCP 443 (TLS with an ACM certificate where a domain is given, so `turns:`), and it relays
their media over UDP to the workers inside the VPC.

Why EC2 instances, and why the balancer does not get in the way:
- A TURN allocation has two sides. The browser only ever talks to the server's listening
  address (3478/443); its media goes inside that connection. The relayed address, which coturn
  allocates per call from its relay port range, is what the *peer* sends to: here the media
  worker, in the same VPC. So coturn relays on the instance's private address (`relay-ip`, no
  `external-ip`): the workers reach it directly, the balancer never carries relayed ports, and
  those ports stay closed to the internet. An `external-ip` (a public address per allocation)
  would only be needed for peers outside the VPC; there are none.
- That would also work on Fargate behind the same balancer. The instances win on what a relay
  needs: coturn from the distribution (Ubuntu 24.04 LTS ships coturn 4.6, as Debian does for
  the local run) with a systemd timer beside it that keeps its secrets current, instead of an
  image of our own with a supervisor; a known network baseline per instance type to scale on
  (the relay is bound by bandwidth, not CPU); and the lowest cost at rest (a t4g.small). The
  instances have public addresses only to reach AWS's APIs and the package mirrors without a
  NAT gateway (as the workers do); their security group lets nothing in from the internet.
- The balancer gives the browsers one name for every instance, terminates TLS on 443 with an
  ACM certificate (renewed by AWS; an ACM certificate cannot be installed on an instance, so
  coturn runs without TLS and gets the decrypted stream on its TCP port: TURN over TLS is TURN
  over TCP inside TLS), health-checks the instances and keeps new allocations off a draining
  one. Client addresses are preserved, and the balancer's security group is the only one open
  to the internet, on exactly the TURN ports.

The shared secret: coturn accepts several (README.turnserver, `static-auth-secret`: "Multiple
shared secrets can be used"), but reloads no configuration on a signal (SIGHUP only reopens its
log, SIGUSR2 reloads TLS certificates), while it reads its database's `turn_secret` table at
every authentication. So each instance keeps the TurnCredential secret's AWSCURRENT, AWSPREVIOUS
and AWSPENDING values in that table (infra/turn/eclinic_turn.py, every minute): a rotation
reaches every running coturn within a minute, with no restart and no call dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from eclinic_infra.operations import add_alarm
from eclinic_infra.worker import MediaWorkers

FILES = Path(__file__).resolve().parents[1] / "turn"
SCRIPT = FILES / "eclinic_turn.py"
TEMPLATE = FILES / "turnserver.conf"
BOOTSTRAP = FILES / "bootstrap.sh"
LIB = "/usr/local/lib/eclinic-turn"

TURN_PORT = 3478  # UDP and TCP, on the balancer and on the instances
TLS_PORT = 443  # on the balancer: TLS (a domain given) or plain TCP, to the instances' TCP 3478
RELAY_PORTS = (49152, 65535)  # coturn's own default range; reachable from the workers only
REALM = "eclinic"
SECRET_SYNC_SECONDS = 60
# Scale out before the relayed media takes this share of an instance's baseline bandwidth.
NETWORK_BUDGET = 0.6
NETWORK_ALARM = 0.8
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Ubuntu 24.04 LTS, published by Canonical as a public SSM parameter (resolved at deploy time).
UBUNTU_AMI = "/aws/service/canonical/ubuntu/server/24.04/stable/current/{arch}/hvm/ebs-gp3/ami-id"
# A call that still relays through an instance being removed keeps it this long.
DRAIN = cdk.Duration.minutes(15)
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
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


class TurnService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workers: MediaWorkers,
        worker_udp_ports: str,
        secret: secretsmanager.ISecret,
        domain: str,
        hosted_zone_id: str,
        other_urls: list[str],
        alarm_topic: sns.ITopic,
        dashboard: cloudwatch.Dashboard,
        sizing: TurnSizing,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = workers.vpc
        public = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
        first_worker_port, last_worker_port = (int(p) for p in worker_udp_ports.split("-"))
        worker_media = ec2.Port.udp_range(first_worker_port, last_worker_port)
        self.has_domain = cdk.CfnCondition(
            self, "HasDomain", expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(domain, ""))
        )
        has_zone = cdk.CfnCondition(
            self,
            "HasZone",
            expression=cdk.Fn.condition_and(
                cast(cdk.ICfnConditionExpression, self.has_domain),
                cdk.Fn.condition_not(cdk.Fn.condition_equals(hosted_zone_id, "")),
            ),
        )

        # -- who may talk to whom ------------------------------------------------------------------
        # The balancer's group is the one open to the internet, on the TURN ports and no other.
        self.balancer_security_group = ec2.SecurityGroup(
            self,
            "BalancerGroup",
            vpc=vpc,
            description="eClinic TURN: browsers to the balancer",
            allow_all_outbound=False,
        )
        for port, what in (
            (ec2.Port.udp(TURN_PORT), "TURN over UDP"),
            (ec2.Port.tcp(TURN_PORT), "TURN over TCP"),
            (ec2.Port.tcp(TLS_PORT), "TURN over TLS (or TCP) on 443"),
        ):
            self.balancer_security_group.add_ingress_rule(ec2.Peer.any_ipv4(), port, f"browsers: {what}")
        self.security_group = ec2.SecurityGroup(
            self, "Instances", vpc=vpc, description="eClinic TURN instances", allow_all_outbound=False
        )
        for port in (ec2.Port.udp(TURN_PORT), ec2.Port.tcp(TURN_PORT)):
            self.security_group.add_ingress_rule(self.balancer_security_group, port, "TURN from the balancer")
            self.balancer_security_group.add_egress_rule(self.security_group, port, "TURN and health checks")
        relay_ports = ec2.Port.udp_range(*RELAY_PORTS)
        self.security_group.add_ingress_rule(
            workers.security_group, relay_ports, "workers to relayed addresses"
        )
        self.security_group.add_egress_rule(
            workers.security_group, worker_media, "relayed media to the workers"
        )
        workers.security_group.add_ingress_rule(self.security_group, worker_media, "relayed media from TURN")
        # Secrets Manager, SSM and the instance's boot (Ubuntu's package mirrors are HTTP).
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs")
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "Ubuntu package mirrors")

        # -- the instances ----------------------------------------------------------------------------
        self.role = iam.Role(
            self,
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
            self,
            "LaunchTemplate",
            instance_type=sizing.instance_type,
            machine_image=ec2.MachineImage.from_ssm_parameter(
                UBUNTU_AMI.format(arch=sizing.architecture), os=ec2.OperatingSystemType.LINUX
            ),
            user_data=self.user_data,
            role=self.role,
            security_group=self.security_group,
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
            self,
            "Group",
            vpc=vpc,
            vpc_subnets=public,
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
            self,
            "NetworkOut",
            auto_scaling_group=self.group,
            predefined_metric=autoscaling.PredefinedMetric.ASG_AVERAGE_NETWORK_OUT,
            target_value=sizing.target_bytes_per_minute,
        )
        self.group.scale_on_cpu_utilization("Cpu", target_utilization_percent=70)

        # -- the balancer -----------------------------------------------------------------------------
        self.balancer = elbv2.NetworkLoadBalancer(
            self,
            "Balancer",
            vpc=vpc,
            vpc_subnets=public,
            internet_facing=True,
            # One warm instance serves browsers arriving in either zone.
            cross_zone_enabled=True,
            security_groups=[self.balancer_security_group],
        )
        health = elbv2.HealthCheck(
            protocol=elbv2.Protocol.TCP, port=str(TURN_PORT), interval=cdk.Duration.seconds(10)
        )
        listener = self.balancer.add_listener("Turn", port=TURN_PORT, protocol=elbv2.Protocol.TCP_UDP)
        self.turn_targets = listener.add_targets(
            "Instances",
            port=TURN_PORT,
            protocol=elbv2.Protocol.TCP_UDP,
            targets=[self.group],
            health_check=health,
            deregistration_delay=DRAIN,
        )
        self.tls_targets = elbv2.NetworkTargetGroup(
            self,
            "TlsInstances",
            vpc=vpc,
            port=TURN_PORT,
            protocol=elbv2.Protocol.TCP,
            targets=[self.group],
            health_check=health,
            deregistration_delay=DRAIN,
        )
        # 443 is TLS with the domain's certificate when a domain is given (`turns:`), plain TCP
        # otherwise (`turn:...:443?transport=tcp`, for networks that let only 443 out).
        self.certificate = acm.CfnCertificate(
            self,
            "Certificate",
            domain_name=domain,
            validation_method="DNS",
            domain_validation_options=cdk.Fn.condition_if(
                has_zone.logical_id,
                [{"DomainName": domain, "HostedZoneId": hosted_zone_id}],
                cdk.Aws.NO_VALUE,
            ),
        )
        self.certificate.cfn_options.condition = self.has_domain
        tls = self.balancer.add_listener(
            "Tls", port=TLS_PORT, protocol=elbv2.Protocol.TCP, default_target_groups=[self.tls_targets]
        )
        tls_listener = tls.node.default_child
        assert isinstance(tls_listener, elbv2.CfnListener)
        tls_listener.protocol = cdk.Fn.condition_if(self.has_domain.logical_id, "TLS", "TCP").to_string()
        tls_listener.ssl_policy = cdk.Fn.condition_if(
            self.has_domain.logical_id, TLS_POLICY, cdk.Aws.NO_VALUE
        ).to_string()
        tls_listener.certificates = cdk.Fn.condition_if(
            self.has_domain.logical_id, [{"CertificateArn": self.certificate.ref}], cdk.Aws.NO_VALUE
        )
        record = route53.CfnRecordSet(
            self,
            "Name",
            hosted_zone_id=hosted_zone_id,
            name=domain,
            type="A",
            alias_target=route53.CfnRecordSet.AliasTargetProperty(
                dns_name=self.balancer.load_balancer_dns_name,
                hosted_zone_id=self.balancer.load_balancer_canonical_hosted_zone_id,
            ),
        )
        record.cfn_options.condition = has_zone

        # -- what the functions hand to browsers --------------------------------------------------------
        host = self.balancer.load_balancer_dns_name
        own_urls = cdk.Fn.join(
            "",
            [
                f"turn:{host}:{TURN_PORT}?transport=udp,turn:{host}:{TURN_PORT}?transport=tcp,",
                cdk.Fn.condition_if(
                    self.has_domain.logical_id,
                    f"turns:{domain}:{TLS_PORT}?transport=tcp",
                    f"turn:{host}:{TLS_PORT}?transport=tcp",
                ).to_string(),
            ],
        )
        use_others = cdk.CfnCondition(
            self,
            "OtherTurnUrls",
            expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(cdk.Fn.join("", other_urls), "")),
        )
        #: ECLINIC_TURN_URLS for the functions: this service, unless the TurnUrls parameter names others.
        self.urls = cdk.Fn.condition_if(
            use_others.logical_id, cdk.Fn.join(",", other_urls), own_urls
        ).to_string()
        for name, value, description in (
            (
                "TurnHost",
                host,
                "The TURN service's balancer (point the TURN domain here without a hosted zone)",
            ),
            ("TurnUrlsInUse", self.urls, "The TURN URLs the functions give browsers"),
            ("TurnSecretArn", secret.secret_arn, "The secret shared with coturn (rotation: README)"),
        ):
            cdk.CfnOutput(self, name, value=value, description=description).override_logical_id(name)

        self._alarms(alarm_topic, dashboard)

    def _alarms(self, topic: sns.ITopic, dashboard: cloudwatch.Dashboard) -> None:
        action = actions.SnsAction(topic)
        five = cdk.Duration.minutes(5)
        by_group = {"AutoScalingGroupName": self.group.auto_scaling_group_name}

        def ec2_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/EC2",
                metric_name=name,
                dimensions_map=by_group,
                statistic=statistic,
                period=five,
            )

        cpu, network_out = ec2_metric("CPUUtilization", "Average"), ec2_metric("NetworkOut", "Average")
        alarms = [
            ("TurnCpu", cpu, 85, AT_LEAST, False, "TURN instances: CPU above 85%"),
            (
                "TurnNetworkOut",
                network_out,
                self.sizing.alarm_bytes_per_minute,
                AT_LEAST,
                False,
                "TURN instances: network out above 80% of the instance type's baseline",
            ),
            (
                "TurnUnhealthyHosts",
                self.turn_targets.metrics.un_healthy_host_count(period=five, statistic="Maximum"),
                1,
                AT_LEAST,
                False,
                "TURN: an unhealthy host behind UDP/TCP 3478",
            ),
            (
                "TurnTlsUnhealthyHosts",
                self.tls_targets.metrics.un_healthy_host_count(period=five, statistic="Maximum"),
                1,
                AT_LEAST,
                False,
                "TURN: an unhealthy host behind 443",
            ),
            (
                "NoHealthyTurnHost",
                self.turn_targets.metrics.healthy_host_count(
                    period=cdk.Duration.minutes(1), statistic="Minimum"
                ),
                1,
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                True,
                "no healthy TURN host: browsers behind strict firewalls cannot connect",
            ),
        ]
        for name, metric, threshold, comparison, breaching, description in alarms:
            add_alarm(
                self,
                name,
                metric,
                action,
                threshold=threshold,
                description=description,
                comparison=comparison,
                breaching=breaching,
            )
        # An instance that could not be started is worth a message each time, as a stopped worker is.
        events.Rule(
            self,
            "LaunchFailed",
            description="eClinic TURN instance could not be launched",
            event_pattern=events.EventPattern(
                source=["aws.autoscaling"],
                detail_type=["EC2 Instance Launch Unsuccessful"],
                detail={"AutoScalingGroupName": [self.group.auto_scaling_group_name]},
            ),
            targets=[targets.SnsTopic(topic)],
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="TURN relay", left=[network_out, ec2_metric("NetworkIn", "Average")], right=[cpu]
            ),
            cloudwatch.GraphWidget(
                title="TURN hosts",
                left=[
                    self.turn_targets.metrics.healthy_host_count(period=five),
                    self.turn_targets.metrics.un_healthy_host_count(period=five),
                ],
            ),
        )


def _file(path: str, text: str) -> str:
    """A shell command that writes `text` to `path` as it is (a quoted here-document)."""
    marker = "ECLINIC_TURN_FILE"
    assert marker not in text
    return f"install -d {Path(path).parent}\ncat > {path} <<'{marker}'\n{text.rstrip()}\n{marker}"
