"""Server-rendered web pages for the people who are not on tablets (docs/web.md).

Served by the same app under ``/web``: the same sign-in, token check, policy table and
access log as the JSON API; the session's access token travels in an HttpOnly cookie
(``backend.auth.guards.credentials``), and every form carries a CSRF token.
"""
