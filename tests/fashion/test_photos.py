"""nnlab.fashion.photos: product photos -> Fashion-MNIST-like 28x28 inputs."""

import numpy as np
import pytest
from PIL import Image

from nnlab.core.errors import NnlabError
from nnlab.fashion.photos import PhotoError, find_photos, load_image, load_images, load_photo, load_photos, read_photos


def photo(path, item=20, background=245, size=(60, 90)):
    """A product photo: a dark rectangle (the item) in the middle of a light background."""
    pixels = np.full((size[1], size[0], 3), background, np.uint8)
    pixels[20:70, 15:45] = item
    Image.fromarray(pixels, "RGB").save(path)
    return path


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_dark_item_on_white_is_inverted_like_fashion_mnist(tmp_path, suffix):
    image = load_image(photo(tmp_path / f"bag{suffix}"))
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    # Fashion-MNIST: a light item on a black background.
    assert image[14, 14] > 0.8  # the item
    # The item is taller than wide: it fills the height, with dark columns left and right.
    assert image[:, 0].max() < 0.1 and image[:, -1].max() < 0.1
    assert image[0, 0] < 0.1 and image[-1, -1] < 0.1


def test_light_item_on_black_is_kept(tmp_path):
    path = tmp_path / "shoe.png"
    pixels = np.zeros((28, 28), np.uint8)
    pixels[8:20, 4:24] = 230
    Image.fromarray(pixels, "L").save(path)
    image = load_image(path)
    np.testing.assert_allclose(image, pixels / 255.0, atol=1 / 255)  # already 28x28: unchanged


def test_load_images_stacks(tmp_path):
    paths = [photo(tmp_path / "a.png"), photo(tmp_path / "b.jpg")]
    images = load_images(paths)
    assert images.shape == (2, 28, 28) and images.dtype == np.float32
    np.testing.assert_array_equal(images[0], load_image(paths[0]))


def test_bad_image_files(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(NnlabError, match=r"notes\.png is not a readable image.*PNG.*JPEG"):
        load_image(text)
    with pytest.raises(NnlabError, match=r"Image .*missing\.jpg does not exist"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(NnlabError, match=r"missing\.jpg does not exist"):
        load_images([photo(tmp_path / "ok.png"), tmp_path / "missing.jpg"])


def test_paths_bytes_and_file_objects_give_the_same_input(tmp_path):
    path = photo(tmp_path / "bag.png")
    expected = load_image(path)
    np.testing.assert_array_equal(load_photo(path.read_bytes(), name="bag.png"), expected)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_photo(f), expected)
    assert load_photos([]).shape == (0, 28, 28)


def test_each_problem_has_a_kind(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "folder.png").mkdir()
    cases = {"missing.png": "missing", "empty.jpg": "empty", "folder.png": "not_an_image"}
    for name, kind in cases.items():
        with pytest.raises(PhotoError) as error:
            load_photo(tmp_path / name)
        assert error.value.kind == kind and error.value.name == str(tmp_path / name)
    with pytest.raises(PhotoError, match=r"upload is empty \(0 bytes\)"):
        load_photo(b"")


def test_read_photos_goes_on_after_a_bad_file(tmp_path):
    paths = [photo(tmp_path / "a.png"), tmp_path / "missing.png", photo(tmp_path / "b.jpg")]
    results = list(read_photos(paths))
    assert [name for name, _ in results] == [str(p) for p in paths]
    assert isinstance(results[1][1], PhotoError) and results[1][1].kind == "missing"
    np.testing.assert_array_equal(results[2][1], load_photo(paths[2]))


def test_find_photos_lists_image_files_in_folders_sorted(tmp_path):
    for name in ("b.JPG", "a.png", "notes.txt", "sub/c.webp", ".hidden/d.png", "sub/.e.png"):
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / name).write_bytes(b"x")
    found = find_photos([tmp_path / "in", tmp_path / "given.txt"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["in/a.png", "in/b.JPG", "in/sub/c.webp",
                                                                   "given.txt"]
