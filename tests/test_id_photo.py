"""ID photos: a decompression bomb is refused from its header, decoding is bounded, and the
shared face describer's lock is never held while an untrusted photo is decoded."""

from __future__ import annotations

import base64
import io
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from kiosk.config import load_settings
from kiosk.liveness.id_photo import PhotoTooLarge, inspect_photo, load_photo_rgb
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def bomb_png(side: int = 16000) -> bytes:
    """A small, valid PNG of ``side``x``side`` grey pixels, all zero: the bomb of #13.5.

    The pixel rows compress ~1000:1, so the file is a few hundred KB while decoding it needs
    side² bytes (256 MB for 16000)."""
    row = b"\0" * (side + 1)  # filter byte + one grey byte a pixel
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = bomb_png()
    assert len(data) < 400_000  # small enough for every byte cap
    return data


@pytest.fixture()
def app(tmp_path):
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False))
    yield app
    app.extensions["kiosk"].shutdown()


def _post(app, photo: bytes):
    return app.test_client().post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": "110102199003078888",
                      "id_photo": base64.b64encode(photo).decode()},
        "locale": "zh-CN", "flow_id": "quick"})


def test_a_decompression_bomb_is_refused_at_upload_with_the_limit(app, bomb):
    tracemalloc.start()
    r = _post(app, bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert r.status_code == 400, r.data[:300]
    body = r.get_json()
    assert body["error"] == "id_photo_too_large"
    assert "the limit is 4096x4096" in body["message"]
    assert peak < 30_000_000  # the header was read; the 256 MB of pixels never were
    assert list(app.extensions["kiosk"].store.sessions_dir.iterdir()) == []


def test_the_byte_cap_is_a_400_naming_the_limit(tmp_path):
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, max_id_photo_bytes=1000,
        max_id_photo_side=8000))
    try:
        buf = io.BytesIO()
        Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8)
                        ).save(buf, format="PNG")
        r = _post(app, buf.getvalue())
        assert r.status_code == 400 and r.get_json()["error"] == "id_photo_too_large"
        assert "limit of 1000 bytes" in r.get_json()["message"]
    finally:
        app.extensions["kiosk"].shutdown()


def test_the_pixel_cap_is_a_setting(app):
    buf = io.BytesIO()
    Image.new("L", (5000, 10), 0).save(buf, format="PNG")
    r = _post(app, buf.getvalue())  # 5000 > 4096 on one side
    assert r.status_code == 400
    assert r.get_json()["message"] == ("id_photo is 5000x10 pixels; the limit is 4096x4096 "
                                       "(max_id_photo_side)")
    assert inspect_photo(buf.getvalue(), max_side=5000) == ("PNG", 5000, 10)
    assert load_settings().max_id_photo_side == 4096


def test_a_bomb_already_on_disk_is_refused_before_decoding(tmp_path, bomb):
    path = tmp_path / "id_photo.png"
    path.write_bytes(bomb)
    t0 = time.perf_counter()
    with pytest.raises(PhotoTooLarge, match=r"^id_photo\.png .*the limit is 4096x4096"):
        load_photo_rgb(path)
    assert time.perf_counter() - t0 < 1.0


def test_a_bomb_is_refused_with_its_own_size_not_pillows_limit(tmp_path, bomb):
    """#16 retest L-2: Pillow's own guard fires first (over 178956970 pixels), and its limit
    was quoted as if it were the image's size."""
    import io

    path = tmp_path / "id_photo.png"
    path.write_bytes(bomb)
    with pytest.raises(PhotoTooLarge) as exc:
        load_photo_rgb(path)
    assert str(exc.value) == ("id_photo.png is 16000x16000 pixels; the limit is 4096x4096 "
                              "(max_id_photo_side)")
    # A JPEG whose frame header claims 65000x65000 (the tester's), its other segments real.
    sof = b"\xff\xc0\x00\x11\x08" + (65000).to_bytes(2, "big") * 2 + b"\x03" + bytes(9)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="JPEG")
    real = buf.getvalue()
    at = real.index(b"\xff\xc0")
    huge = real[:at] + sof + real[at + 2 + int.from_bytes(real[at + 2:at + 4], "big"):]
    (tmp_path / "huge.jpg").write_bytes(huge)
    with pytest.raises(PhotoTooLarge) as exc:
        load_photo_rgb(tmp_path / "huge.jpg")
    assert str(exc.value).startswith("huge.jpg is 65000x65000 pixels; the limit is 4096x4096")


@pytest.mark.parametrize("big_first", [False, True])
def test_a_jpeg_with_two_frame_headers_is_refused_naming_the_largest(app, big_first):
    """t13c row 5: 16x16, then 60000x60000: refused, but the message said 16x16. t13d: the
    other order (60000x60000, then 16x16) was accepted, Pillow taking the last header."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, format="JPEG")
    real = buf.getvalue()
    at = real.index(b"\xff\xc0")
    end = at + 2 + int.from_bytes(real[at + 2:at + 4], "big")
    big = bytearray(real[at:end])
    big[5:9] = struct.pack(">HH", 60000, 60000)
    crafted = (real[:at] + bytes(big) + real[at:] if big_first
               else real[:end] + bytes(big) + real[end:])
    r = _post(app, crafted)
    assert r.status_code == 400 and r.get_json()["error"] == "id_photo_too_large"
    assert r.get_json()["message"].startswith("id_photo is 60000x60000 pixels; the limit is "
                                              "4096x4096"), r.get_json()


def test_a_large_photo_is_decoded_small(tmp_path):
    path = tmp_path / "id_photo.jpg"
    Image.new("RGB", (4000, 3000), (120, 100, 90)).save(path, format="JPEG")
    rgb = load_photo_rgb(path)
    assert rgb.dtype == np.uint8 and rgb.shape[2] == 3 and max(rgb.shape[:2]) <= 1024


def test_the_shared_describer_lock_is_not_held_while_a_photo_is_decoded(tmp_path,
                                                                       monkeypatch):
    """Decoding is done in this process, outside the describer's lock (held only while dlib's
    worker computes): a hostile photo cannot stall every live witness's face analysis."""
    import cv2
    from PIL import ImageFile
    from skimage import data as skdata

    from kiosk.liveness.identity import SharedFaceDescriber

    path = tmp_path / "id_photo.jpg"
    Image.fromarray(skdata.astronaut()).crop((120, 0, 300, 220)).save(path, quality=90)
    shared = SharedFaceDescriber()
    held_while_decoding = []
    real_load, real_imread = ImageFile.ImageFile.load, cv2.imread

    def load(self):
        held_while_decoding.append(shared._worker._lock.locked())
        return real_load(self)

    def imread(*a, **k):
        held_while_decoding.append(shared._worker._lock.locked())
        return real_imread(*a, **k)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(cv2, "imread", imread)
    try:
        d = shared.describe_file(path)
    finally:
        shared.close()
    assert d.shape == (128,)
    assert held_while_decoding and not any(held_while_decoding), held_while_decoding


def test_a_bomb_never_reaches_a_decoder_and_a_live_witness_is_not_stalled(app, bomb, tmp_path,
                                                                         monkeypatch):
    """#13 item 26: a bomb's session, created while another witness is analysed, stalled that
    witness's face analysis for 25 s (two-thirds of its analysed frames lost). The bomb is
    refused before any decoder (Pillow's or OpenCV's) sees a pixel, and the describer's lock,
    which another witness's analysis takes, is free when the refusal comes (untimed)."""
    import cv2
    from PIL import ImageFile

    from kiosk.liveness.identity import shared_describer

    decoded = []
    real_load, real_imread, real_imdecode = ImageFile.ImageFile.load, cv2.imread, cv2.imdecode
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda self: decoded.append("PIL") or real_load(self))
    monkeypatch.setattr(cv2, "imread", lambda *a, **k: decoded.append("imread")
                        or real_imread(*a, **k))
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: decoded.append("imdecode")
                        or real_imdecode(*a, **k))
    lock = shared_describer()._worker._lock
    r = _post(app, bomb)
    assert r.status_code == 400 and r.get_json()["error"] == "id_photo_too_large", r.data[:300]
    assert decoded == []
    assert not lock.locked()  # free for the other witness's analysis
