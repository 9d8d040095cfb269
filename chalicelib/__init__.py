"""eClinic application package: domain, adapters and use cases behind the Chalice app."""
