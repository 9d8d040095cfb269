"""Follow-up tasks on DynamoDB: a task is stored with its `task_created` audit event,
conditional on being new. Nothing here reads them: the `TaskCreated` event carries each task
to whoever acts on it."""

from __future__ import annotations

from chalicelib.domain.appointment import AuditEvent
from chalicelib.domain.task import Task
from chalicelib.domain.timeutil import iso_utc_precise
from chalicelib.store.dynamo import Transactions
from chalicelib.store.models import TaskModel


class DynamoTasks:
    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def add(self, task: Task, audit: AuditEvent) -> None:
        item = TaskModel(
            task.appointment_id,
            task.id,
            title=task.title,
            note=task.note,
            created_by=task.created_by,
            created_at=iso_utc_precise(task.created_at),
        )
        self._transactions.write_with_audit(item, TaskModel.id.does_not_exist(), audit)
