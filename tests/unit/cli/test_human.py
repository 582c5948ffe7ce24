from berth.cli.human import bytes_size


def test_bytes_size_like_go_units() -> None:
    assert bytes_size(25276063744) == "23.54GiB"
    assert bytes_size(0) == "0B"
    assert bytes_size(1023) == "1023B"
    assert bytes_size(1024) == "1KiB"
    assert bytes_size(1536) == "1.5KiB"
    assert bytes_size(67108864) == "64MiB"
