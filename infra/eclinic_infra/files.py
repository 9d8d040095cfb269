"""Where screenshots and written information are kept: a KMS key of their own and a private
bucket with a retention, and the one CORS rule that lets the clinician's page fetch a screenshot.

The resources are made in the stack's own scope, with the ids they have always had, so that
moving them here renamed nothing in the template.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from eclinic_infra.functions import LOG_RETENTION


class Files:
    """The key and the bucket (files expire `retention_days` after they were put)."""

    def __init__(self, scope: Construct, *, retention_days: int) -> None:
        self.scope = scope
        self.key = kms.Key(
            scope,
            "FilesKey",
            enable_key_rotation=True,
            description="eClinic screenshots and written information",
        )
        self.bucket = s3.Bucket(
            scope,
            "Files",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=False,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="retention", expiration=cdk.Duration.days(retention_days))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def allow_page_origin(self, origin: str) -> cr.AwsCustomResource:
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
            self.scope,
            "FilesCors",
            on_create=put_cors,
            on_update=put_cors,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["s3:PutBucketCORS"], resources=[self.bucket.bucket_arn])]
            ),
            install_latest_aws_sdk=False,
            log_group=logs.LogGroup(
                self.scope,
                "FilesCorsLogs",
                retention=LOG_RETENTION,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            ),
        )
