from berth.cli.commands.images import rows

IMG = {
    "Id": "sha256:" + "a" * 64,
    "Created": 1000,
    "Size": 1984132,
    "RepoTags": ["127.0.0.1:5000/app:1", "127.0.0.1:5000/app:2"],
    "RepoDigests": ["127.0.0.1:5000/app@sha256:" + "b" * 64],
}


def test_one_row_per_tag_with_the_repositorys_digest() -> None:
    out = rows([IMG], False, 1000 + 7200)
    assert [(r["Repository"], r["Tag"]) for r in out] == [("127.0.0.1:5000/app", "1"), ("127.0.0.1:5000/app", "2")]
    assert out[0]["ID"] == "a" * 12 and out[0]["Size"] == "1.98MB" and out[0]["CreatedSince"] == "2 hours ago"
    assert out[0]["Digest"] == "sha256:" + "b" * 64


def test_dangling_image_is_none_none() -> None:
    out = rows([IMG | {"RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"]}], True, 2000)
    assert [(r["Repository"], r["Tag"], r["ID"]) for r in out] == [("<none>", "<none>", IMG["Id"])]
