"""Events for other systems (the document workflow), through EventBridge."""
