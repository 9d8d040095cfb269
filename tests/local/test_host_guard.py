"""The local run's unauthenticated routes against DNS rebinding, and `/_local/aws` as an
operator uses it (API.md, "The local run"; the README's "Add a clinician as an operator")."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
import requests

from tests.local.conftest import LocalRun, free_port

GUARDED = (
    ("GET", "/_local/mailbox"),
    ("GET", "/_local/mailbox.json"),
    ("GET", "/_local/sms.json"),
    ("GET", "/_local/aws"),
    ("GET", "/@connections/x"),
    ("POST", "/@connections/x"),
    ("DELETE", "/@connections/x"),
)


def port_of(run: LocalRun) -> int:
    port = urlsplit(run.base_url).port
    assert port is not None
    return port


def foreign_hosts(port: int) -> list[str]:
    other = free_port()
    return [
        f"evil.example:{port}",  # a page's own name, rebound to 127.0.0.1
        f"127.0.0.1:{other}",
        f"localhost:{other}",
        "evil.example",
        f"localhost.evil.example:{port}",
        f"127.0.0.1.evil.example:{port}",
    ]


def call(run: LocalRun, method: str, path: str, host: str) -> requests.Response:
    return requests.request(method, run.url(path), headers={"Host": host}, data=b"{}", timeout=10)


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_a_foreign_host_is_forbidden(local_run: LocalRun, method: str, path: str) -> None:
    for host in foreign_hosts(port_of(local_run)):
        answer = call(local_run, method, path, host)
        assert answer.status_code == 403, (host, answer.text)
        body = answer.json()
        assert set(body) == {"error"} and body["error"]["code"] == "forbidden", (host, body)
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_other_spellings_of_the_guarded_paths_are_forbidden_too(local_run: LocalRun) -> None:
    host = f"evil.example:{port_of(local_run)}"
    for path in ("/%5Flocal/aws", "/_local/", "/_local", "/_local/nothing", "/@connections/x/y"):
        answer = call(local_run, "GET", path, host)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden", path


def test_without_a_host_header_is_forbidden(local_run: LocalRun) -> None:
    import socket

    # HTTP/1.0 may leave Host out (HTTP/1.1 without it is a 400 before any route).
    with socket.create_connection(("127.0.0.1", port_of(local_run)), timeout=10) as connection:
        connection.sendall(b"GET /_local/aws HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 403") or answer.startswith(b"HTTP/1.1 403"), answer[:200]
    assert b'"forbidden"' in answer


def test_the_runs_own_host_is_answered(local_run: LocalRun) -> None:
    port = port_of(local_run)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        mailbox = call(local_run, "GET", "/_local/mailbox.json", host)
        assert mailbox.status_code == 200 and "messages" in mailbox.json(), host
        assert call(local_run, "GET", "/_local/mailbox", host).status_code == 200, host
        aws = call(local_run, "GET", "/_local/aws", host)
        assert aws.status_code == 200 and set(aws.json()) == {
            "endpoint_url",
            "region",
            "user_pool_id",
            "client_id",
        }, host
        # Reached: the management API itself answers that no such connection is open.
        for method in ("GET", "POST", "DELETE"):
            gone = call(local_run, method, "/@connections/x", host)
            assert gone.status_code == 410 and gone.headers["x-amzn-ErrorType"] == "GoneException"


def test_the_rest_of_the_run_is_not_guarded(local_run: LocalRun) -> None:
    host = f"evil.example:{port_of(local_run)}"
    assert call(local_run, "GET", "/health", host).status_code == 200
    assert call(local_run, "GET", "/api/nothing-here", host).status_code == 404


def test_local_aws_names_the_stand_in_and_the_pool(local_run: LocalRun) -> None:
    client, aws = local_run.cognito()
    assert urlsplit(aws["endpoint_url"]).hostname == "127.0.0.1" and aws["region"] == "us-east-1"
    users = client.list_users(UserPoolId=aws["user_pool_id"])["Users"]
    emails = {a["Value"] for u in users for a in u["Attributes"] if a["Name"] == "email"}
    assert {"ada@clinic.example", "ben@clinic.example", "cyd@clinic.example"} <= emails
    app_client = client.describe_user_pool_client(UserPoolId=aws["user_pool_id"], ClientId=aws["client_id"])
    assert app_client["UserPoolClient"]["ClientName"] == "eclinic-web"


def test_an_operator_adds_a_clinician_who_then_logs_in(local_run: LocalRun) -> None:
    """The README's how-to, step by step."""
    client, aws = local_run.cognito()
    pool = aws["user_pool_id"]
    email = f"dora.{uuid.uuid4().hex[:8]}@clinic.example"
    password = "Dora-Cardio-2026!"  # a test's own account in the stand-in
    client.admin_create_user(
        UserPoolId=pool,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": "Dora Mar"},
        ],
        MessageAction="SUPPRESS",
    )
    client.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    client.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="cardiology")

    login = requests.post(
        local_run.url("/api/auth/login"), json={"email": email, "password": password}, timeout=10
    )
    assert login.status_code == 200, login.text
    me = requests.get(
        local_run.url("/api/me"), headers={"Authorization": f"Bearer {login.json()['id_token']}"}, timeout=10
    ).json()
    assert me["email"] == email and me["name"] == "Dora Mar"
    assert me["groups"] == [{"id": "cardiology", "name": "Cardiology"}]
