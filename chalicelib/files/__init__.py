"""Private files (screenshots, written information) in S3, handed out as short-lived links."""
