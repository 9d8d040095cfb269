"""The file store port, its S3 adapter (private, encrypted) and an in-memory fake."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

LINK_SECONDS = 300


class FileStore(Protocol):
    def put(self, key: str, content: bytes, content_type: str) -> None: ...

    def link(self, key: str, filename: str, seconds: int = LINK_SECONDS) -> str:
        """A short-lived download link that names the file for the browser."""
        ...

    def delete(self, key: str) -> None:
        """Removes the object; one that is not there is no error."""
        ...


class S3FileStore:
    def __init__(self, s3_client: Any, bucket: str, kms_key_id: str | None = None) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def put(self, key: str, content: bytes, content_type: str) -> None:
        extra: dict[str, str] = {"ServerSideEncryption": "AES256"}
        if self._kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=content, ContentType=content_type, **extra)

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def link(self, key: str, filename: str, seconds: int = LINK_SECONDS) -> str:
        return str(
            self._s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                },
                ExpiresIn=seconds,
            )
        )


class InMemoryFileStore:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, content: bytes, content_type: str) -> None:
        self.files[key] = (content, content_type)

    def delete(self, key: str) -> None:
        self.files.pop(key, None)

    def link(self, key: str, filename: str, seconds: int = LINK_SECONDS) -> str:
        return f"https://files.test/{key}?filename={quote(filename)}&expires={seconds}"
