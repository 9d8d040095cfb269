"""Mail to patients and clinicians: the SES identity invitations come from, and a configuration
set whose bounces, complaints and rejections go to an SNS topic (operations watch it).

The resources are made in the stack's own scope, with the ids they have always had, so that
moving them here renamed nothing in the template.
"""

from __future__ import annotations

from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct


class Mail:
    """The sender's identity (`sender`, the MailSender parameter) and its configuration set."""

    def __init__(self, scope: Construct, *, sender: str) -> None:
        self.feedback = sns.Topic(scope, "MailFeedback", display_name="eClinic bounces and complaints")
        self.configuration_set = ses.ConfigurationSet(scope, "Mail", reputation_metrics=True)
        self.configuration_set.add_event_destination(
            "BouncesAndComplaints",
            destination=ses.EventDestination.sns_topic(self.feedback),
            events=[
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.REJECT,
            ],
        )
        self.sender_identity = ses.EmailIdentity(
            scope,
            "Sender",
            identity=ses.Identity.email(sender),
            configuration_set=self.configuration_set,
        )
