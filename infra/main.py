"""The CDK app: `make synth` writes the CloudFormation templates to infra/cdk.out/.

Synthesis needs no AWS credentials and no network to AWS: the stack is environment-agnostic
(region and account resolve at deploy time) unless `-c region=... -c account=...` pin them.
"""

from __future__ import annotations

import aws_cdk as cdk

from eclinic_infra.stack import EclinicStack


def main() -> None:
    app = cdk.App()
    account = app.node.try_get_context("account")
    region = app.node.try_get_context("region")
    env = cdk.Environment(account=account, region=region) if account and region else None
    EclinicStack(app, "EclinicStack", env=env, description="eClinic: online consultation hours")
    app.synth()


if __name__ == "__main__":
    main()
