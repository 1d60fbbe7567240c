"""Sign-in, devices, who may see what, and the access log.

``roles`` names who a caller is; ``users``, ``sessions`` (access and refresh tokens,
hashed; ``tokens`` makes and hashes them) and ``devices`` keep them in PostgreSQL;
``issuer`` turns a request's bearer token into a :class:`~backend.auth.roles.Principal`;
``guards`` and ``authorize`` refuse callers by the policy table (``policy``) and need to
know (``need_to_know``); ``access_log`` records every read and change.
"""
