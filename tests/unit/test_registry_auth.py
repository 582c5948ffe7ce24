import pytest

import berth.registry
from berth import errdefs
from berth.registry.auth import Challenge, Credentials, TokenCache, basic_header, parse_challenges
from berth.registry.errors import error_from_response, parse_errors


def test_bearer_challenge_as_docker_hub_sends_it():
    h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'
    assert parse_challenges(h) == [
        Challenge(
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/busybox:pull",
            },
        )
    ]


def test_basic_challenge_and_several_in_one_header():
    cs = parse_challenges(
        'Basic realm="basic-realm", Bearer realm="https://a/t",service=reg , error="insufficient_scope"'
    )
    assert [c.scheme for c in cs] == ["basic", "bearer"]
    assert cs[0].realm == "basic-realm"
    assert cs[1].params == {"realm": "https://a/t", "service": "reg", "error": "insufficient_scope"}


def test_challenge_with_escapes_commas_in_quotes_and_odd_case():
    cs = parse_challenges(
        'BEARER Realm="https://a/t?x=1,y=2",scope="repository:a:pull,push",note="say \\"hi\\""'
    )
    assert cs[0].scheme == "bearer"
    assert cs[0].params["realm"] == "https://a/t?x=1,y=2"
    assert cs[0].params["scope"] == "repository:a:pull,push"
    assert cs[0].params["note"] == 'say "hi"'


def test_garbage_challenges_do_not_raise():
    assert parse_challenges("") == []
    assert parse_challenges('=,,"') == []
    assert [c.scheme for c in parse_challenges("Negotiate")] == ["negotiate"]


def test_basic_header_and_credentials_hide_the_password():
    assert basic_header(Credentials("apic", "secret")) == "Basic YXBpYzpzZWNyZXQ="
    assert "secret" not in repr(Credentials("apic", "secret"))
    assert not Credentials()


def test_token_cache_expires(monkeypatch):
    import berth.registry.auth as auth

    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    c = TokenCache()
    c.put(("r", "s", "scope"), "tok", 300)
    assert c.get(("r", "s", "scope")) == "tok"
    assert c.get(("r", "s", "other")) is None
    now[0] += 295
    assert c.get(("r", "s", "scope")) is None


def test_registry_errors_in_dockers_words():
    body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"latest"}}]}'
    assert parse_errors(body) == [("MANIFEST_UNKNOWN", "manifest unknown")]
    err = error_from_response(
        404, "Not Found", body, "GET x", prefix="manifest for a:latest not found"
    )
    assert isinstance(err, errdefs.NotFound)
    assert str(err) == "manifest for a:latest not found: manifest unknown: manifest unknown"
    assert err.codes == ("MANIFEST_UNKNOWN",)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "body", "cls", "text"),
    [
        (401, b"", errdefs.Unauthorized, "unauthorized: authentication required"),
        (
            403,
            b'{"errors":[{"code":"DENIED","message":"no"}]}',
            errdefs.PermissionDenied,
            "denied: no",
        ),
        (
            429,
            b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
            errdefs.Unavailable,
            "toomanyrequests: slow down",
        ),
        (
            503,
            b"<html>",
            errdefs.Unavailable,
            'GET "u": unexpected status: 503 Service Unavailable',
        ),
        (
            401,
            b'{"details":"incorrect username or password"}',
            errdefs.Unauthorized,
            "incorrect username or password",
        ),
        (
            400,
            b'{"errors":[{"code":"DIGEST_INVALID","message":"a"},{"code":"SIZE_INVALID","message":"b"}]}',
            errdefs.InvalidArgument,
            "digest invalid: a; size invalid: b",
        ),
    ],
)
def test_error_categories(status, body, cls, text):
    reason = {503: "Service Unavailable"}.get(status, "")
    err = error_from_response(status, reason, body, 'GET "u"')
    assert type(err) is cls
    assert str(err) == text


def test_public_surface():
    assert berth.registry.__all__ == sorted(berth.registry.__all__)
    for name in berth.registry.__all__:
        assert getattr(berth.registry, name) is not None
