import cv2
import numpy as np
import pytest
from conftest import scene

from agan.data.degradations import DEGRADATIONS, SPARSE_KINDS, degrade, get_degradation
from agan.data.degradations._common import photo_scale
from agan.data.spec import SpecError

# The sparse kinds with their veils off, so that the mask must cover every changed pixel.
VEIL_OFF = {"rain": {"veil": 0.0}, "snow": {"veil": 0.0}, "dust": {"haze": 0.0}}
WEATHER = ("raindrop", "rain", "snow", "dust")


@pytest.mark.parametrize("kind", list(DEGRADATIONS))
@pytest.mark.parametrize("shape", [(64, 64, 3), (31, 37, 1), (65, 97, 3)])
def test_deterministic_shape_dtype_range(kind, shape):
    clean = scene(*shape, seed=1)
    first = degrade(clean, kind, np.random.default_rng(7))
    second = degrade(clean, kind, np.random.default_rng(7))
    other = degrade(clean, kind, np.random.default_rng(8))
    degraded, mask = first
    assert np.array_equal(degraded, second[0]) and np.array_equal(mask, second[1])
    assert not np.array_equal(degraded, other[0])
    assert degraded.shape == clean.shape and degraded.dtype == np.float32
    assert mask.shape == clean.shape[:2] and mask.dtype == np.float32
    assert 0.0 <= degraded.min() and degraded.max() <= 1.0
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert mask.max() > 0, "mask is empty"
    assert not np.array_equal(degraded, clean)


@pytest.mark.parametrize("kind", SPARSE_KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_masks_cover_the_changes(kind, seed):
    clean = scene(256, 320, seed=seed)
    params = {**VEIL_OFF.get(kind, {}), **({"severity": 0.4} if kind in WEATHER else {})}
    degraded, mask = get_degradation(kind)(clean, np.random.default_rng(seed), **params)
    changed = np.abs(degraded - clean).max(axis=2) > 10 / 255
    assert changed.any()
    assert (mask[changed] > 0).all(), f"{(mask[changed] == 0).mean():.1%} of changed pixels are outside the mask"
    assert mask.mean() < 0.6, "a sparse mask of medium weather should not cover most of the image"


@pytest.mark.parametrize("kind", WEATHER)
def test_heavy_weather_masks_still_cover_the_changes(kind):
    clean = scene(256, 320, seed=4)
    degraded, mask = get_degradation(kind)(clean, np.random.default_rng(4), severity=1.0, **VEIL_OFF.get(kind, {}))
    changed = np.abs(degraded - clean).max(axis=2) > 10 / 255
    assert changed.mean() > 0.1 and (mask[changed] > 0).all()


def _input_psnr(kind, seed, **params):
    clean = scene(192, 256, seed=seed)
    degraded, _ = get_degradation(kind)(clean, np.random.default_rng(seed), **params)
    return 10 * np.log10(1 / max(float(np.mean((degraded - clean) ** 2)), 1e-12))


@pytest.mark.parametrize("kind", WEATHER)
def test_severity_goes_from_light_to_heavy_and_the_default_spans_it(kind):
    light, medium, heavy = (np.mean([_input_psnr(kind, seed, severity=v) for seed in range(3)]) for v in (0.1, 0.5, 0.9))
    assert light > medium + 2 and medium > heavy + 2 and light > heavy + 8, (light, medium, heavy)
    drawn = [_input_psnr(kind, seed) for seed in range(16)]
    assert max(drawn) - min(drawn) > 8, "the default severity should span light to heavy weather"
    for bad in (1.5, "1-0.5", "0.2-1.5", "heavy"):
        with pytest.raises(ValueError, match="severity must be a number from 0 to 1 or a range"):
            get_degradation(kind)(scene(16, 16), np.random.default_rng(0), severity=bad)


@pytest.mark.parametrize("kind", WEATHER)
def test_a_severity_range_draws_within_it(kind):
    heavy = [_input_psnr(kind, seed, severity="0.8-1") for seed in range(6)]
    light = [_input_psnr(kind, seed, severity="0-0.2") for seed in range(6)]
    assert max(heavy) < min(light), (heavy, light)
    assert _input_psnr(kind, 3, severity="0.8-1") == heavy[3]  # same seed, same pair
    assert _input_psnr(kind, 2, severity="0.7-0.7") == _input_psnr(kind, 2, severity=0.7)


def test_a_rain_veil_range_draws_a_veil_within_it():
    """``rain(veil=lo-hi)`` gives every image a veil of that strength (Outdoor-Rain's thick haze).
    Without streaks, a flat grey 0.2 under a veil v towards airlight 0.9 reads 0.2 + v * d * 0.7 at
    the top of the image, where the synthetic depth d is near 1."""
    flat = np.full((96, 96, 3), 0.2, np.float32)

    def lift(seed: int, veil: str) -> float:
        rainy, _ = get_degradation("rain")(flat, np.random.default_rng(seed), severity=0, density=0.01,
                                           veil=veil, airlight=0.9)
        return float(rainy[0].mean()) - 0.2

    thick, thin = [lift(s, "0.5-0.9") for s in range(8)], [lift(s, "0-0.05") for s in range(8)]
    assert min(thick) > 0.2 and max(thin) < 0.05, (thick, thin)
    assert lift(3, "0.5-0.9") == thick[3]  # same seed, same pair
    for bad in ("0.9-0.5", "thick", 1.2):
        with pytest.raises(ValueError, match="veil must be a number from 0 to 1 or a range"):
            get_degradation("rain")(scene(16, 16), np.random.default_rng(0), veil=bad)


def test_gaussian_level_and_clip():
    clean = np.full((128, 128, 1), 0.5, np.float32)
    degraded, mask = get_degradation("gaussian")(clean, np.random.default_rng(0), sigma=25, clip=False)
    assert abs(float((degraded - clean).std()) - 25 / 255) < 0.002
    assert mask.min() == 1.0
    bright = np.full((64, 64, 3), 0.98, np.float32)
    assert get_degradation("gaussian")(bright, np.random.default_rng(0), sigma=25, clip=False)[0].max() > 1.0
    assert get_degradation("gaussian")(bright, np.random.default_rng(0), sigma=25)[0].max() <= 1.0


def test_salt_pepper_amount():
    clean = np.full((200, 200, 3), 0.5, np.float32)
    degraded, mask = get_degradation("salt-pepper")(clean, np.random.default_rng(0), amount=0.1, salt_ratio=0.3)
    assert abs(mask.mean() - 0.1) < 0.01
    assert abs((degraded[..., 0] == 1).mean() - 0.03) < 0.005


def test_poisson_variance_follows_the_peak():
    clean = np.full((256, 256, 1), 0.5, np.float32)
    degraded, _ = get_degradation("poisson")(clean, np.random.default_rng(0), peak=40)
    assert abs(float(degraded.var()) - 0.5 / 40) < 0.001


def test_jpeg_lower_quality_is_worse():
    clean = scene(96, 96)
    errors = [np.abs(get_degradation("jpeg")(clean, np.random.default_rng(0), quality=q)[0] - clean).mean()
              for q in (10, 50, 95)]
    assert errors[0] > errors[1] > errors[2]


def test_chain_takes_the_union_of_masks():
    clean = scene(64, 64)
    _, mask = degrade(clean, "scribble+salt-pepper(amount=0.05)", np.random.default_rng(0))
    _, scribble_mask = degrade(clean, "scribble", np.random.default_rng(0))
    assert mask.sum() > scribble_mask.sum()


def _mean_blob_area(mask):
    count, labels = cv2.connectedComponents((mask > 0).astype(np.uint8))
    return (mask > 0).sum() / max(count - 1, 1)


def test_weather_is_sized_for_the_whole_photo():
    """A 128-pixel crop of a 1024-pixel photo gets drops 8x the radius of a 128-pixel photo's."""
    crop = scene(128, 128)
    own = [_mean_blob_area(get_degradation("raindrop")(crop, np.random.default_rng(i), count=20, radius=12)[1])
           for i in range(4)]
    with photo_scale(1024):
        large = [_mean_blob_area(get_degradation("raindrop")(crop, np.random.default_rng(i), count=300, radius=12)[1])
                 for i in range(4)]
    assert np.mean(large) > 8 * np.mean(own)


def test_unknown_kind_and_parameter():
    with pytest.raises(SpecError, match="unknown degradation"):
        degrade(scene(8, 8), "fog", np.random.default_rng(0))
    with pytest.raises(SpecError, match="bad parameters for degradation 'gaussian'"):
        degrade(scene(8, 8), "gaussian(sigmaa=3)", np.random.default_rng(0))


def test_weather_mix_draws_its_kinds_among_the_given_ones(monkeypatch):
    from agan.data.degradations import weather

    applied = []
    for name, function in list(weather._KINDS.items()):
        def record(rng, shape, scale, _name=name, _function=function):
            applied.append(_name)
            return _function(rng, shape, scale)
        monkeypatch.setitem(weather._KINDS, name, record)
    clean, seen = scene(48, 48, seed=3), set()
    for seed in range(24):
        applied.clear()
        weather.weather_mix(clean, np.random.default_rng(seed), kinds=1, among="raindrop|rain|snow|dust")
        assert len(applied) == 1
        seen.update(applied)
    assert seen == {"raindrop", "rain", "snow", "dust"}
    with pytest.raises(ValueError, match="unknown weather kinds"):
        weather.weather_mix(clean, np.random.default_rng(0), kinds=1, among="rain|fog")
    with pytest.raises(ValueError, match="among= applies to a number of kinds"):
        weather.weather_mix(clean, np.random.default_rng(0), kinds="rain", among="rain|snow")


def test_drops_seen_with_the_scene_in_focus_are_soft_washed_out_blobs():
    """focus=1 (the Raindrop set's photos: the camera focused on the scene) against focus=0 (on the glass):
    the same drops, with softer edges, less of the scene's detail inside and a brighter look."""
    clean = scene(192, 256, seed=4)
    sharp, sharp_mask = get_degradation("raindrop")(clean, np.random.default_rng(5), severity=0.6)
    soft, soft_mask = get_degradation("raindrop")(clean, np.random.default_rng(5), severity=0.6, focus=1.0)
    inside = (sharp_mask > 0) & (soft_mask > 0)

    def detail(image):  # mean gradient magnitude over the drops
        grey = image.mean(axis=2)
        return np.hypot(*np.gradient(grey))[inside].mean()

    assert detail(soft) < 0.7 * detail(sharp)
    assert (soft - clean).mean(axis=2)[inside].mean() > (sharp - clean).mean(axis=2)[inside].mean()
    assert soft_mask.mean() >= sharp_mask.mean()  # soft edges reach further
    same = get_degradation("raindrop")(clean, np.random.default_rng(5), severity=0.6, focus=0.0)
    assert np.array_equal(same[0], sharp)  # focus 0 is the default drawing, bit for bit
    spec, _ = degrade(clean, "raindrop(severity=0.6,focus=1)", np.random.default_rng(5))
    assert np.array_equal(spec, soft)


def test_the_weather_mix_draws_drops_at_the_focus_asked_and_keeps_its_default_stream():
    clean = scene(192, 256, seed=4)
    plain, _ = degrade(clean, "weather-mix(kinds=raindrop)", np.random.default_rng(7))
    zero, _ = degrade(clean, "weather-mix(kinds=raindrop,focus=0)", np.random.default_rng(7))
    assert np.array_equal(plain, zero)  # focus 0 draws exactly as before
    soft, _ = degrade(clean, "weather-mix(kinds=raindrop,focus=1)", np.random.default_rng(7))
    direct, _ = get_degradation("raindrop")(clean, np.random.default_rng(7), focus=1.0)
    assert np.array_equal(soft, direct)
    drawn = {float(np.abs(degrade(clean, "weather-mix(kinds=raindrop,focus=random)", np.random.default_rng(seed))[0]
                             - clean).mean()) for seed in range(3)}
    assert len(drawn) == 3  # each image its own focus (and drops)
    with pytest.raises(ValueError, match="focus must be"):
        degrade(clean, "weather-mix(focus=2)", np.random.default_rng(0))


def test_gaussian_noise_levels_are_drawn_from_the_range_asked():
    flat = np.full((64, 64, 3), 0.5, np.float32)
    levels = [float((degrade(flat, "gaussian(low=20,high=30,clip=false)", np.random.default_rng(i))[0] - flat).std())
              * 255 for i in range(20)]
    assert 19 < min(levels) and max(levels) < 31 and max(levels) - min(levels) > 3
    clean, _ = degrade(flat, "gaussian(low=0,high=0)", np.random.default_rng(0))
    assert np.array_equal(clean, flat)
    default, _ = degrade(flat, "gaussian", np.random.default_rng(3))
    same, _ = degrade(flat, "gaussian(low=5,high=50)", np.random.default_rng(3))
    assert np.array_equal(default, same)  # the defaults are the old range, drawn the same way
    with pytest.raises(ValueError, match="0 <= low <= high"):
        degrade(flat, "gaussian(low=30,high=20)", np.random.default_rng(0))


def test_noise_mix_draws_only_the_kinds_among_and_keeps_its_default_stream(monkeypatch):
    from agan.data.degradations import noise

    clean = scene(48, 64, seed=2)
    before = degrade(clean, "noise-mix", np.random.default_rng(4))[0]
    called = []
    for name, function in list(noise._MIXABLE.items()):
        monkeypatch.setitem(noise._MIXABLE, name, lambda image, rng, _n=name, _f=function: called.append(_n) or _f(image, rng))
    assert np.array_equal(degrade(clean, "noise-mix", np.random.default_rng(4))[0], before)
    called.clear()
    for seed in range(30):
        degrade(clean, "noise-mix(among=gaussian|jpeg)", np.random.default_rng(seed))
    assert set(called) == {"gaussian", "jpeg"}
    with pytest.raises(ValueError, match="unknown noise kinds"):
        degrade(clean, "noise-mix(among=rain)", np.random.default_rng(0))
