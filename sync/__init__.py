"""The device protocol (push, pull, scope, purge, conflicts) and its reference client.

Empty until the offline-sync issue; it applies commands through the domain's use cases.
"""
