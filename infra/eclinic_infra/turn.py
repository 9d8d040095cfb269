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

The service's parts each have a module: turn_instances.py (the group, its boot and scaling),
turn_balancer.py (the balancer and its listeners), turn_alarms.py (alarms and dashboard). This
one joins them, says who may talk to whom, and makes the URLs the functions hand to browsers.
"""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from eclinic_infra.turn_alarms import add_turn_alarms
from eclinic_infra.turn_balancer import TLS_PORT, TurnBalancer
from eclinic_infra.turn_instances import RELAY_PORTS, TURN_PORT, TurnInstances, TurnSizing
from eclinic_infra.worker import MediaWorkers

# The stack sizes the service with TurnSizing, as it imports it from here.
__all__ = ["TurnService", "TurnSizing"]


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

        # -- the instances and the balancer in front of them -------------------------------------------
        instances = TurnInstances(
            self, vpc=vpc, secret=secret, security_group=self.security_group, sizing=sizing
        )
        self.role, self.user_data, self.group = instances.role, instances.user_data, instances.group
        self.sizing = sizing
        front = TurnBalancer(
            self,
            vpc=vpc,
            group=self.group,
            security_group=self.balancer_security_group,
            domain=domain,
            hosted_zone_id=hosted_zone_id,
            has_domain=self.has_domain,
            has_zone=has_zone,
        )
        self.balancer, self.certificate = front.balancer, front.certificate
        self.turn_targets, self.tls_targets = front.turn_targets, front.tls_targets

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

        add_turn_alarms(
            self,
            group=self.group,
            sizing=sizing,
            turn_targets=self.turn_targets,
            tls_targets=self.tls_targets,
            topic=alarm_topic,
            dashboard=dashboard,
        )
