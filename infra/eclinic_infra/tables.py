"""DynamoDB tables made from the PynamoDB models: the models are the one source of truth for
keys, indexes and TTL, so a table can never drift from the code that reads it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from pynamodb.attributes import TTLAttribute
from pynamodb.indexes import AllProjection, KeysOnlyProjection
from pynamodb.models import Model

_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def model_schema(model: type[Model]) -> dict[str, Any]:
    """Keys, global secondary indexes (with projection) and TTL attribute of a model."""
    schema = model._get_schema()
    types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}

    def keys(key_schema: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
        return {str(k["KeyType"]): (str(k["AttributeName"]), types[k["AttributeName"]]) for k in key_schema}

    indexes = {}
    for index in schema["global_secondary_indexes"]:
        projection = index["projection"]["ProjectionType"]
        indexes[index["index_name"]] = {"keys": keys(index["key_schema"]), "projection": projection}
    ttl = next(
        (name for name, attr in model.get_attributes().items() if isinstance(attr, TTLAttribute)), None
    )
    return {"keys": keys(schema["key_schema"]), "indexes": indexes, "ttl": ttl}


def table_for(scope: Construct, model: type[Model], table_name: str) -> dynamodb.Table:
    spec = model_schema(model)

    def attribute(key: tuple[str, str] | None) -> dynamodb.Attribute | None:
        return dynamodb.Attribute(name=key[0], type=_TYPES[key[1]]) if key else None

    table = dynamodb.Table(
        scope,
        model.__name__.removesuffix("Model"),
        table_name=table_name,
        partition_key=attribute(spec["keys"]["HASH"]),
        sort_key=attribute(spec["keys"].get("RANGE")),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        deletion_protection=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        time_to_live_attribute=spec["ttl"],
    )
    for name, index in spec["indexes"].items():
        projection = {
            AllProjection.projection_type: dynamodb.ProjectionType.ALL,
            KeysOnlyProjection.projection_type: dynamodb.ProjectionType.KEYS_ONLY,
        }[index["projection"]]
        table.add_global_secondary_index(
            index_name=name,
            partition_key=attribute(index["keys"]["HASH"]),
            sort_key=attribute(index["keys"].get("RANGE")),
            projection_type=projection,
        )
    return table
