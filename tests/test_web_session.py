"""Signing in and out in a browser (backend/web/session.py): the API's users, password
check and throttle; an HttpOnly, SameSite=Lax session cookie carrying an access token;
CSRF on every form; the cookie counts on /web only."""

from __future__ import annotations

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.auth_api import make_user
from tests.web_helpers import HTML, browser, form_token, post_form, sign_in, signed_in_browser


def set_cookie(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [h for h in headers if h.startswith(name + "=")]
    assert found, headers
    return str(found[0])


def test_the_sign_in_page_is_norwegian_with_labels_and_a_csrf_field(client: TestClient) -> None:
    response = browser(client).get("/web/sign-in")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="nb">' in html
    assert '<label for="username">Brukernavn</label>' in html
    assert '<label for="password">Passord</label>' in html
    assert 'href="#main"' in html  # the skip link
    assert 'name="_csrf_token"' in html
    csrf = set_cookie(response, "folgja_csrf")
    assert "HttpOnly" in csrf and "samesite=lax" in csrf.lower() and "Path=/web" in csrf


def test_english_is_chosen_and_kept_in_a_cookie(client: TestClient) -> None:
    response = browser(client).get("/web/sign-in?lang=en")
    assert '<html lang="en">' in response.text
    assert "Username" in response.text
    assert "lang=en" in set_cookie(response, "lang")
    again = client.get("/web/sign-in")
    assert '<html lang="en">' in again.text


def test_signing_in_sets_an_httponly_lax_session_cookie(client: TestClient) -> None:
    make_user(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    response = sign_in(browser(client), "kari")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/web"
    cookie = set_cookie(response, "folgja_session")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/web" in cookie
    assert "Secure" not in cookie  # plain http here; over https it is (below)
    home = client.get("/web")
    assert home.status_code == 200
    assert "kari" in home.text


def test_the_cookie_is_secure_over_https(client: TestClient) -> None:
    make_user(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    browser(client)
    client.base_url = "https://testserver.local"  # type: ignore[assignment]
    response = sign_in(client, "kari")
    assert response.status_code == 303, response.text
    assert "Secure" in set_cookie(response, "folgja_session")


def test_a_form_without_its_csrf_token_is_refused(client: TestClient) -> None:
    make_user(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    browser(client).get("/web/sign-in")  # the CSRF cookie is set, but the form omits it
    response = client.post(
        "/web/sign-in",
        data={"username": "kari", "password": "korrekt hest batteri stift"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "folgja_session" not in response.headers.get("set-cookie", "")
    forged = client.post(
        "/web/sign-in",
        data={"username": "kari", "password": "x", "_csrf_token": "0" * 128},
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_the_api_needs_no_csrf_token(client: TestClient) -> None:
    make_user(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    client.anonymous = True  # type: ignore[attr-defined]
    response = client.post(
        "/auth/login", json={"username": "kari", "password": "korrekt hest batteri stift"}
    )
    assert response.status_code == 200, response.text


def test_a_wrong_password_re_renders_the_form_with_one_message(client: TestClient) -> None:
    make_user(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    response = sign_in(browser(client), "kari", "feil passord")
    assert response.status_code == 401
    assert "Brukernavnet eller passordet er feil." in response.text
    assert 'value="kari"' in response.text
    assert "folgja_session=" not in response.headers.get("set-cookie", "")


def test_empty_fields_get_messages_next_to_them(client: TestClient) -> None:
    token = form_token(browser(client))
    response = client.post(
        "/web/sign-in", data={"username": "", "password": "", "_csrf_token": token}
    )
    assert response.status_code == 400
    assert 'id="username-error"' in response.text and 'id="password-error"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_the_api_throttle_refuses_too_many_failures(client: TestClient) -> None:
    make_user(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    browser(client)
    statuses = [sign_in(client, "kari", "feil").status_code for _ in range(12)]
    assert statuses[0] == 401
    assert statuses[-1] == 429, statuses
    refused = sign_in(client, "kari")  # the right password, while throttled
    assert refused.status_code == 429
    assert refused.headers["retry-after"]


def test_signing_out_revokes_the_token(client: TestClient) -> None:
    signed_in_browser(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    token = client.cookies.get("folgja_session")
    assert token
    response = post_form(client, "/web/sign-out", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/web/sign-in"
    # The same token, sent again, is refused: the sign-in was revoked, not just forgotten.
    client.cookies.set("folgja_session", token, path="/web")
    again = client.get("/web", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/web/sign-in")
    api = client.get("/auth/me", headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 401


def test_sign_out_without_its_csrf_token_is_refused(client: TestClient) -> None:
    signed_in_browser(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    response = client.post("/web/sign-out", follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/web").status_code == 200  # still signed in


def test_a_page_without_a_session_sends_to_sign_in(client: TestClient) -> None:
    response = browser(client).get("/web", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/web/sign-in?next=/web"


def test_a_client_asking_for_json_gets_the_problem(client: TestClient) -> None:
    client.anonymous = True  # type: ignore[attr-defined]
    response = client.get("/web", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_cookie_is_no_credential_for_the_api(client: TestClient) -> None:
    signed_in_browser(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    token = client.cookies.get("folgja_session")
    client.cookies.set("folgja_session", token, path="/")  # even if a browser sent it there
    assert client.get("/auth/me", headers=HTML).status_code == 401


def test_after_sign_in_the_page_asked_for_is_shown_but_never_another_site(
    client: TestClient,
) -> None:
    make_user(client, "kari", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    browser(client)
    token = form_token(client, "/web/sign-in?next=/web")
    for target, expected in (
        ("/web", "/web"),
        ("//evil.example/x", "/web"),
        ("https://e.x", "/web"),
    ):
        response = client.post(
            f"/web/sign-in?next={target}",
            data={
                "username": "kari",
                "password": "korrekt hest batteri stift",
                "_csrf_token": token,
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == expected


def test_static_files_are_served_without_sign_in(client: TestClient) -> None:
    browser(client)
    assert client.get("/web/static/app.css").status_code == 200
    htmx = client.get("/web/static/vendor/htmx/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text
    assert client.get("/web/static/vendor/htmx/LICENSE").status_code == 200
