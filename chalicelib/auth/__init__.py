"""Who is calling: clinicians by Cognito ID token, patients by their link token."""
