"""The CDK app: `make synth` writes the CloudFormation templates to infra/cdk.out/.

Synthesis needs no AWS credentials and no network to AWS: the stack is environment-agnostic
(region and account resolve at deploy time) unless `-c region=... -c account=...` pin them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aws_cdk as cdk

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # chalicelib (the models) and eclinic_infra

from eclinic_infra.stack import EclinicStack  # noqa: E402


def main() -> None:
    # The CDK CLI names the output folder; `make synth` runs this file directly: infra/cdk.out.
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", str(HERE / "cdk.out")))
    account = app.node.try_get_context("account")
    region = app.node.try_get_context("region")
    env = cdk.Environment(account=account, region=region) if account and region else None
    EclinicStack(app, "EclinicStack", env=env, description="eClinic: online consultation hours")
    app.synth()


if __name__ == "__main__":
    main()
