"""Live updates over the API Gateway WebSocket API: connections, fan-out, messages."""
