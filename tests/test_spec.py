import pytest

from agan.data.spec import SpecError, format_call, parse_calls


def test_chain_with_typed_parameters():
    assert parse_calls("gaussian(sigma=25,clip=false)+jpeg(quality=30)") == [
        ("gaussian", {"sigma": 25, "clip": False}),
        ("jpeg", {"quality": 30}),
    ]


def test_path_names_and_floats():
    assert parse_calls("runs/gan/checkpoints/best.pt+gaussian(sigma=0.8)") == [
        ("runs/gan/checkpoints/best.pt", {}),
        ("gaussian", {"sigma": 0.8}),
    ]


def test_format_round_trips():
    name, params = parse_calls("bm3d(sigma=25,profile=np)")[0]
    assert parse_calls(format_call(name, params)) == [(name, params)]


@pytest.mark.parametrize("bad", ["", "gaussian(sigma=25", "gaussian(25)", "a)+b", "+"])
def test_bad_specs_raise(bad):
    with pytest.raises(SpecError):
        parse_calls(bad)
