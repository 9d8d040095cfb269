"""Patient mail: composing it from templates, and the mailer port with its SES adapter."""
