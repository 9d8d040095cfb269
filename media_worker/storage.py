"""Where screenshots go: the private, encrypted files bucket (moto's S3 in the local run)."""

from __future__ import annotations

from typing import Any, Protocol


class ImageStore(Protocol):
    def put_jpeg(self, key: str, content: bytes) -> None: ...


class S3ImageStore:
    def __init__(self, bucket: str, region: str, endpoint_url: str | None, kms_key_id: str | None) -> None:
        self._bucket = bucket
        self._region = region
        self._endpoint_url = endpoint_url
        self._kms_key_id = kms_key_id
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", region_name=self._region, endpoint_url=self._endpoint_url)
        return self._client

    def put_jpeg(self, key: str, content: bytes) -> None:
        encryption: dict[str, str] = {"ServerSideEncryption": "AES256"}
        if self._kms_key_id:
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}
        self._s3().put_object(
            Bucket=self._bucket, Key=key, Body=content, ContentType="image/jpeg", **encryption
        )


class InMemoryImageStore:
    def __init__(self) -> None:
        self.images: dict[str, bytes] = {}

    def put_jpeg(self, key: str, content: bytes) -> None:
        self.images[key] = content
