from __future__ import annotations

import asyncio

from berth.api.response import JsonStream, encode_json, json_response


def test_json_is_encoded_like_go() -> None:
    assert encode_json({"a": 1, "b": [True, None]}) == b'{"a":1,"b":[true,null]}\n'
    assert encode_json({"stream": " ---> 85136dcba8bf\n"}) == b'{"stream":" ---\\u003e 85136dcba8bf\\n"}\n'
    assert encode_json("a&b<c") == b'"a\\u0026b\\u003cc"\n'
    assert encode_json("é") == '"é"\n'.encode()


def test_json_response_sets_content_type() -> None:
    r = json_response({"Id": "x"}, 201)
    assert r.status == 201 and r.headers == {"Content-Type": "application/json"}


class Sink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.chunks.append(data)


def test_json_stream_messages_end_with_crlf() -> None:
    sink = Sink()
    js = JsonStream(sink)

    async def go() -> None:
        await js.send({"status": "Downloading", "progressDetail": {"current": 1, "total": 2}})
        await js.error("The command returned a non-zero code: 3", code=3)

    asyncio.run(go())
    assert sink.chunks == [
        b'{"status":"Downloading","progressDetail":{"current":1,"total":2}}\r\n',
        b'{"errorDetail":{"code":3,"message":"The command returned a non-zero code: 3"},'
        b'"error":"The command returned a non-zero code: 3"}\r\n',
    ]
