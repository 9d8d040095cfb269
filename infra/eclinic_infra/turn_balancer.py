"""The TURN service's front: the internet-facing Network Load Balancer, its listeners (TCP and
UDP 3478; 443 as TLS with an ACM certificate where a domain is given, plain TCP otherwise), the
target groups that health-check the instances and drain them, and the DNS name for the domain.
turn.py explains why the balancer terminates TLS and never carries relayed media.

The resources are made in the TurnService construct's scope, with the ids they have always
had, so that moving them here renamed nothing in the template.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from constructs import Construct

from eclinic_infra.turn_instances import TURN_PORT

TLS_PORT = 443  # on the balancer: TLS (a domain given) or plain TCP, to the instances' TCP 3478
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# A call that still relays through an instance being removed keeps it this long.
DRAIN = cdk.Duration.minutes(15)


class TurnBalancer:
    """The balancer in front of `group`. `has_domain` and `has_zone` are the conditions that a
    domain (TurnDomain) and its hosted zone (TurnHostedZoneId) are given."""

    def __init__(
        self,
        scope: Construct,
        *,
        vpc: ec2.IVpc,
        group: autoscaling.AutoScalingGroup,
        security_group: ec2.ISecurityGroup,
        domain: str,
        hosted_zone_id: str,
        has_domain: cdk.CfnCondition,
        has_zone: cdk.CfnCondition,
    ) -> None:
        self.balancer = elbv2.NetworkLoadBalancer(
            scope,
            "Balancer",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            internet_facing=True,
            # One warm instance serves browsers arriving in either zone.
            cross_zone_enabled=True,
            security_groups=[security_group],
        )
        health = elbv2.HealthCheck(
            protocol=elbv2.Protocol.TCP, port=str(TURN_PORT), interval=cdk.Duration.seconds(10)
        )
        listener = self.balancer.add_listener("Turn", port=TURN_PORT, protocol=elbv2.Protocol.TCP_UDP)
        self.turn_targets = listener.add_targets(
            "Instances",
            port=TURN_PORT,
            protocol=elbv2.Protocol.TCP_UDP,
            targets=[group],
            health_check=health,
            deregistration_delay=DRAIN,
        )
        self.tls_targets = elbv2.NetworkTargetGroup(
            scope,
            "TlsInstances",
            vpc=vpc,
            port=TURN_PORT,
            protocol=elbv2.Protocol.TCP,
            targets=[group],
            health_check=health,
            deregistration_delay=DRAIN,
        )
        # 443 is TLS with the domain's certificate when a domain is given (`turns:`), plain TCP
        # otherwise (`turn:...:443?transport=tcp`, for networks that let only 443 out).
        self.certificate = acm.CfnCertificate(
            scope,
            "Certificate",
            domain_name=domain,
            validation_method="DNS",
            domain_validation_options=cdk.Fn.condition_if(
                has_zone.logical_id,
                [{"DomainName": domain, "HostedZoneId": hosted_zone_id}],
                cdk.Aws.NO_VALUE,
            ),
        )
        self.certificate.cfn_options.condition = has_domain
        tls = self.balancer.add_listener(
            "Tls", port=TLS_PORT, protocol=elbv2.Protocol.TCP, default_target_groups=[self.tls_targets]
        )
        tls_listener = tls.node.default_child
        assert isinstance(tls_listener, elbv2.CfnListener)
        tls_listener.protocol = cdk.Fn.condition_if(has_domain.logical_id, "TLS", "TCP").to_string()
        tls_listener.ssl_policy = cdk.Fn.condition_if(
            has_domain.logical_id, TLS_POLICY, cdk.Aws.NO_VALUE
        ).to_string()
        tls_listener.certificates = cdk.Fn.condition_if(
            has_domain.logical_id, [{"CertificateArn": self.certificate.ref}], cdk.Aws.NO_VALUE
        )
        record = route53.CfnRecordSet(
            scope,
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
