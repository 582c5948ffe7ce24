from __future__ import annotations

import pytest

from berth import errdefs
from berth.api.errors import error_response, message_of
from berth.api.wire import category_for_status, status_for


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (errdefs.InvalidArgument, 400),
        (errdefs.Unauthorized, 401),
        (errdefs.PermissionDenied, 403),
        (errdefs.NotFound, 404),
        (errdefs.AlreadyExists, 409),
        (errdefs.Conflict, 409),
        (errdefs.FailedPrecondition, 412),
        (errdefs.Internal, 500),
        (errdefs.NotImplemented, 501),
        (errdefs.Unavailable, 503),
    ],
)
def test_category_to_status_and_back(cls: type[errdefs.BerthError], status: int) -> None:
    assert status_for(cls("x")) == status
    back = category_for_status(status)
    assert status_for(back("x")) == status


def test_subclasses_keep_their_category() -> None:
    class NoSuchImage(errdefs.NotFound):
        pass

    assert status_for(NoSuchImage("No such image: x")) == 404


def test_foreign_exceptions_are_500() -> None:
    assert status_for(KeyError("x")) == 500
    assert status_for(OSError(2, "x")) == 500


def test_other_statuses_map_like_the_moby_client() -> None:
    assert category_for_status(418) is errdefs.InvalidArgument
    assert category_for_status(429) is errdefs.InvalidArgument
    assert category_for_status(502) is errdefs.Internal


def test_error_body_is_exact_json() -> None:
    r = error_response(errdefs.NotFound("No such container: apic-nosuch"), "1.41")
    assert r.status == 404
    assert r.headers == {"Content-Type": "application/json"}
    assert r.body == b'{"message":"No such container: apic-nosuch"}\n'


def test_old_clients_get_text() -> None:
    r = error_response(errdefs.NotFound("No such container: x"), "1.22")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.body == b"No such container: x\n"


def test_unexpected_message_is_one_line_without_details_past_it() -> None:
    assert message_of(ValueError("bad\nsecond line")) == "internal error: ValueError: bad"
    assert message_of(ValueError()) == "internal error: ValueError"
    assert message_of(errdefs.Conflict("in use")) == "in use"
