from berth.cli.human import bytes_size


def test_bytes_size_like_go_units() -> None:
    assert bytes_size(25276063744) == "23.54GiB"
    assert bytes_size(0) == "0B"
    assert bytes_size(1023) == "1023B"
    assert bytes_size(1024) == "1KiB"
    assert bytes_size(1536) == "1.5KiB"
    assert bytes_size(67108864) == "64MiB"


def test_human_size_and_duration_like_go_units() -> None:
    from berth.cli.human import duration, human_size

    assert human_size(1984132) == "1.98MB"
    assert human_size(41000) == "41kB"
    assert human_size(0) == "0B"
    assert duration(0.5) == "Less than a second"
    assert duration(90) == "About a minute"
    assert duration(3600) == "About an hour"
    assert duration(3 * 86400) == "3 days"
    assert duration(300 * 86400) == "10 months"
    assert duration(800 * 86400) == "2 years"
