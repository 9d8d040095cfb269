"""The stack's reminders and texts, against the synthesized template: the schedule group, the
role EventBridge Scheduler assumes (it may invoke the reminder function and nothing else), the
functions' rights to change that group's schedules only and to pass that role only, SNS for
texts to phone numbers but not to topics, and the SMS sender parameters reaching the code."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import settings_names as app_settings
from tests.infra.conftest import PREFIX, rendered, resources

GROUP = PREFIX + "reminders"
SCHEDULES = "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/" + GROUP + "/*"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def scheduler_role(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((name, role),) = [
        (name, role)
        for name, role in resources(template, "AWS::IAM::Role").items()
        if "scheduler.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    return name, role


def statements_of(template: dict[str, Any], role_name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_name} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    role = template["Resources"][role_name]
    for inline in role["Properties"].get("Policies", []):
        found += inline["PolicyDocument"]["Statement"]
    return found


def function_role(template: dict[str, Any]) -> str:
    ((name,),) = {
        tuple(p["Properties"]["Roles"][0].values())
        for p in resources(template, "AWS::IAM::Policy").values()
        if "FunctionRole" in json.dumps(p["Properties"]["Roles"])
    }
    return str(name)


def allowed(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if s["Effect"] == "Allow" and action in as_list(s["Action"])]


def test_one_schedule_group_for_the_reminders(synthesized: dict[str, Any]) -> None:
    groups = resources(synthesized["json"], "AWS::Scheduler::ScheduleGroup")
    assert [g["Properties"]["Name"] for g in groups.values()] == [GROUP]


def test_the_reminder_function_runs_the_apps_handler(synthesized: dict[str, Any]) -> None:
    function = synthesized["json"]["Resources"]["SendReminder"]
    assert function["Properties"]["Handler"] == "app.send_reminder"
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables[app_settings.REMINDER_GROUP] == GROUP


def test_scheduler_may_only_invoke_the_reminder_function(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    name, role = scheduler_role(template)
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert rendered(trust["Condition"]["ArnLike"]["aws:SourceArn"]) == SCHEDULES
    assert not role["Properties"].get("ManagedPolicyArns")
    (statement,) = statements_of(template, name)
    assert statement["Effect"] == "Allow" and as_list(statement["Action"]) == ["lambda:InvokeFunction"]
    assert statement["Resource"] == {"Fn::GetAtt": ["SendReminder", "Arn"]}


def test_the_functions_change_only_their_groups_schedules(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    statements = statements_of(template, function_role(template))
    for action in ("scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"):
        (statement,) = allowed(statements, action)
        assert [rendered(r) for r in as_list(statement["Resource"])] == [SCHEDULES], action
    every = {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert not [a for a in every if a.startswith("scheduler:") and a.endswith("*")]
    assert "scheduler:CreateScheduleGroup" not in every and "scheduler:DeleteScheduleGroup" not in every


def test_the_functions_pass_the_scheduler_role_only_and_only_to_scheduler(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["json"]
    role_name, _ = scheduler_role(template)
    statements = statements_of(template, function_role(template))
    (statement,) = allowed(statements, "iam:PassRole")
    assert as_list(statement["Resource"]) == [{"Fn::GetAtt": [role_name, "Arn"]}]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    environment = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert environment[app_settings.REMINDER_ROLE_ARN] == {"Fn::GetAtt": [role_name, "Arn"]}


def test_the_reminder_function_is_named_in_the_endpoints_parameter(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    (parameter,) = [
        p
        for p in resources(template, "AWS::SSM::Parameter").values()
        if p["Properties"].get("Name") == "/eclinic/prod/endpoints"
    ]
    text = rendered(parameter["Properties"]["Value"])
    assert '"reminder_function_arn": "${SendReminder.Arn}"' in text


def test_texts_go_to_phone_numbers_never_to_topics(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    statements = statements_of(template, function_role(template))
    for action in ("sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"):
        assert [s["Resource"] for s in allowed(statements, action)] == ["*"], action
    denied = [s for s in statements if s["Effect"] == "Deny" and "sns:Publish" in as_list(s["Action"])]
    assert [rendered(s["Resource"]) for s in denied] == ["arn:${AWS::Partition}:sns:*:*:*"]
    every = {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert not [
        a
        for a in every
        if a.startswith("sns:") and a not in {"sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"}
    ]


def test_the_sms_sender_parameters_reach_every_function(synthesized: dict[str, Any]) -> None:
    from eclinic_infra.stack import FUNCTIONS

    template = synthesized["json"]
    parameters = template["Parameters"]
    assert parameters["SmsSenderId"]["Default"] == "" and parameters["SmsOriginationNumber"]["Default"] == ""
    for name in FUNCTIONS:
        variables = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables[app_settings.SMS_SENDER_ID] == {"Ref": "SmsSenderId"}, name
        assert variables[app_settings.SMS_ORIGINATION_NUMBER] == {"Ref": "SmsOriginationNumber"}, name


def test_the_sms_parameters_refuse_malformed_values(synthesized: dict[str, Any]) -> None:
    import re

    parameters = synthesized["json"]["Parameters"]
    sender = re.compile(parameters["SmsSenderId"]["AllowedPattern"])
    number = re.compile(parameters["SmsOriginationNumber"]["AllowedPattern"])
    assert sender.fullmatch("eClinic") and sender.fullmatch("")
    assert not sender.fullmatch("eClinic Berlin") and not sender.fullmatch("A" * 12)
    assert number.fullmatch("+4930123456") and number.fullmatch("")
    assert not number.fullmatch("030123456") and not number.fullmatch("+49 30 123456")
