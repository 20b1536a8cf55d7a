"""nnlab.fashion.photoset_independent: the second photo generator decodes in every kind, deterministic from a seed."""

import io

import numpy as np
import pytest
from PIL import Image

from nnlab.fashion.photoset_independent import KINDS, Habits, draw_habits, main, make_set, render

EXPECTED = {  # kind -> (Pillow's format, mode as decoded)
    "jpeg": ("JPEG", "RGB"), "jpeg-progressive": ("JPEG", "RGB"), "jpeg-cmyk": ("JPEG", "CMYK"),
    "jpeg-exif-rotated": ("JPEG", "RGB"), "png-rgb": ("PNG", "RGB"), "png-rgba-opaque": ("PNG", "RGBA"),
    "png-rgba-transparent": ("PNG", "RGBA"), "png-la-transparent": ("PNG", "LA"), "png-l": ("PNG", "L"),
    "png-palette": ("PNG", "P"), "png-palette-transparent": ("PNG", "P"), "png-16bit-gray": ("PNG", "I;16"),
    "png-16bit-rgb": ("PNG", "RGB"), "webp": ("WEBP", "RGB"), "webp-lossless": ("WEBP", "RGB"),
    "tiff-rgb": ("TIFF", "RGB"), "tiff-cmyk": ("TIFF", "CMYK"), "tiff-16bit-gray": ("TIFF", "I;16"),
    "bmp": ("BMP", "RGB"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_what_it_says(fashion, kind):
    (_, _), (x_test, _) = fashion[0]
    transparent = kind in ("png-rgba-transparent", "png-la-transparent", "png-palette-transparent")
    habits = Habits(kind=kind, backdrop="transparent" if transparent else "light", long_edge=320, aspect=0.8)
    data, name = render(x_test[0], habits)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.mode) == EXPECTED[kind]
        size = image.size if kind != "jpeg-exif-rotated" else image.size[::-1]  # stored sideways
        assert max(size) == 320 and size[0] < size[1]
        if kind == "png-rgba-opaque":
            assert np.asarray(image)[..., 3].min() == 255
        if transparent:
            assert image.convert("RGBA").getextrema()[3][0] == 0
        if kind == "jpeg-exif-rotated":
            assert image.getexif()[0x0112] in (3, 6, 8)


def test_sets_are_deterministic_and_vary_every_habit(fashion):
    (_, _), (x_test, _) = fashion[0]
    first = make_set(x_test[:3], seed=4)
    assert [data for _, data, _ in first] == [data for _, data, _ in make_set(x_test[:3], seed=4)]
    habits = [draw_habits(np.random.default_rng((0, i, 16))) for i in range(300)]
    assert {h.kind for h in habits} == set(KINDS)
    assert {h.backdrop for h in habits} == {"light", "dark", "tinted", "gradient", "vignette", "transparent"}
    assert min(h.long_edge for h in habits) < 350 and max(h.long_edge for h in habits) > 950
    assert min(h.fill for h in habits) < 0.4 and max(h.fill for h in habits) > 0.9
    assert min(h.angle for h in habits) < -7 and max(h.angle for h in habits) > 7


def test_main_writes_photos_and_labels(tmp_path, capsys):
    main([str(tmp_path), "--n", "2"])
    lines = (tmp_path / "labels.csv").read_text().splitlines()
    assert lines[0] == "file,class_index,class,kind,backdrop" and len(lines) == 3
    assert all((tmp_path / line.split(",")[0]).exists() for line in lines[1:])
    assert "wrote 2 photos" in capsys.readouterr().out
