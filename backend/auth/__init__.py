"""Sign-in, devices and the access log (issue 5, part A).

``roles`` names who a caller is, ``tokens`` and ``store`` keep the opaque tokens, users and
devices, ``issuer`` turns a request's bearer token into a :class:`~backend.auth.roles.Principal`,
``guards`` refuses callers at the route, and ``access_log`` records every read and change.
"""
