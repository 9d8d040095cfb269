"""The REST edge: one Chalice Blueprint per resource group, registered by `app.py`.

`edge` holds what every route shares (JSON answers, the domain-error-to-HTTP mapping, reading
the request), `bodies` turns request bodies into the use cases' typed commands.
"""
