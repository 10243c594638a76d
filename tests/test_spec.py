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


def test_a_data_spec_parses_formats_back_and_maps_its_paths():
    from agan.data.data_spec import DataSpec

    text = "synthetic:weather-mix(kinds=1,among=raindrop|rain):a/b,c:/photos;$DATA/jorder/train*8;pairs:x/{id}.png=y/{id}.png"
    spec = DataSpec.parse(text)
    assert str(spec) == text
    assert [(p.form, p.repeat) for p in spec.parts] == [("synthetic", 1), ("folder", 8), ("pairs", 1)]
    assert spec.parts[0].kinds == "weather-mix(kinds=1,among=raindrop|rain)"
    assert spec.parts[0].paths == ("a/b", "c:/photos")  # a drive letter stays in its path
    assert spec.folders() == {"a/b", "c:/photos", "$DATA/jorder/train", "x/{id}.png"}
    assert str(spec.map_paths(str.upper)) == ("synthetic:weather-mix(kinds=1,among=raindrop|rain):A/B,C:/PHOTOS;"
                                              "$DATA/JORDER/TRAIN*8;pairs:X/{ID}.PNG=Y/{ID}.PNG")
    assert not spec.single and DataSpec.parse(" set5 ").single
    assert str(DataSpec.parse("synthetic:rain: a , b ; set5*2 ")) == "synthetic:rain:a,b;set5*2"


@pytest.mark.parametrize("text, message", [
    ("synthetic:rain", "expected synthetic:KIND"), ("synthetic::set5", "expected synthetic:KIND"),
    ("set5*0", "repeat count must be at least 1"), (" ; ", "empty data spec"),
    ("synthetic:rain(angle=10:set5", "unbalanced"),
])
def test_a_bad_data_spec_is_one_line_quoting_it(text, message):
    from agan.data.data_spec import DataSpec

    with pytest.raises(SpecError, match=message) as caught:
        DataSpec.parse(text)
    assert "\n" not in str(caught.value)
