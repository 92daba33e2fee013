"""Synthetic PRC resident ID cards, rendered at test time, then photographed badly on purpose.

Nothing here is a real person's document. A card is drawn with Pillow after the published
layout of the second-generation card (85.6 x 54 mm, GA 467): the portrait side carries the
labels 姓名, 性别, 民族, 出生, 住址 and 公民身份号码 with the portrait on the right; the
emblem side carries 中华人民共和国 / 居民身份证, 签发机关 and 有效期限. The emblem is a plain
red disc (the national emblem is not reproduced), the portrait is one of the public-domain
faces of ``kiosk.testing.faces`` (NASA's astronaut, the US Navy's Grace Hopper), and the
number comes from ``kiosk.identity.numbers.make_resident_id``.

``photograph(card, distortion)`` then shows the card as a phone camera would: on a table, in
perspective, blurred, with a glare spot, JPEG-compressed, in low light, or partly covered by
a thumb. Text needs a CJK font: WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``, in
``dev.sh``'s test packages) or any font ``fc-match :lang=zh`` finds.
"""

from __future__ import annotations

import io
import random
import subprocess
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from kiosk.identity.numbers import make_resident_id

PX_PER_MM = 12  # 1027 x 648 pixels: about what a phone photo of a card held close gives
CARD_MM = (85.6, 54.0)
DISTORTIONS = ("clean", "perspective", "blur", "glare", "jpeg", "low_light", "occlusion")
_FONT_PATHS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
               "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
               "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
_LABEL = (40, 110, 170)  # the printed labels are blue; the personal data is black
_TEXT = (20, 20, 20)

# Made-up people: names from common surnames and given names, addresses from a fictional
# street ("示例路"), authorities that match the address code.
_SURNAMES = ("张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴", "欧阳", "司马")
_GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
          "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "晓东", "子涵", "浩然")
_NATIONS = ("汉", "汉", "汉", "汉", "回", "满", "蒙古", "壮", "维吾尔", "朝鲜")
_PLACES = (("110102", "北京市西城区", "北京市公安局西城分局"),
           ("310104", "上海市徐汇区", "上海市公安局徐汇分局"),
           ("440305", "广东省深圳市南山区", "深圳市公安局南山分局"),
           ("330106", "浙江省杭州市西湖区", "杭州市公安局西湖分局"),
           ("510107", "四川省成都市武侯区", "成都市公安局武侯区分局"))


@dataclass(frozen=True)
class CardPerson:
    """What a synthetic card says: every field as printed."""

    name: str
    sex: str  # 男 / 女, agreeing with the number
    nation: str
    birth: date
    address: str
    id_number: str
    authority: str
    valid_from: date
    valid_to: date | None  # None: 长期 (long-term)
    face: str  # a kiosk.testing.faces name

    @property
    def validity(self) -> str:
        end = "长期" if self.valid_to is None else f"{self.valid_to:%Y.%m.%d}"
        return f"{self.valid_from:%Y.%m.%d}-{end}"


def make_person(seed: int, today: date | None = None) -> CardPerson:
    """A made-up card holder, the same for the same ``seed``; the card is valid on ``today``."""
    rng = random.Random(seed)
    today = today or date.today()
    area, place, authority = rng.choice(_PLACES)
    birth = date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
    sequence = rng.randint(0, 999)
    number = make_resident_id(area, birth, sequence)
    age = today.year - birth.year
    # Cards run 10 years (ages 16-25), 20 years (26-45) or long-term (46 and over).
    years = 10 if age < 26 else 20 if age < 46 else None
    start_year = today.year - rng.randint(0, (years or 20) - 1)
    valid_from = date(start_year, birth.month, birth.day)
    valid_to = None if years is None else date(start_year + years, birth.month, birth.day)
    street = (f"示例路{rng.randint(1, 300)}号{rng.randint(1, 20)}号楼"
              f"{rng.randint(1, 30)}0{rng.randint(1, 6)}室")
    return CardPerson(
        name=rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2))),
        sex="男" if sequence % 2 else "女", nation=rng.choice(_NATIONS), birth=birth,
        address=place + street, id_number=number, authority=authority, valid_from=valid_from,
        valid_to=valid_to, face=rng.choice(("astronaut", "hopper")))


@lru_cache(maxsize=1)
def cjk_font_path() -> str:
    """A font file with Chinese glyphs; FileNotFoundError naming the package to install."""
    for p in _FONT_PATHS:
        if Path(p).is_file():
            return p
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if found and Path(found).is_file():
        return found
    raise FileNotFoundError("no CJK font found: install fonts-wqy-microhei (apt-get install "
                            "fonts-wqy-microhei)")


@lru_cache(maxsize=32)
def _font(size_mm: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(cjk_font_path(), max(8, round(size_mm * PX_PER_MM)))


def _mm(x: float) -> int:
    return round(x * PX_PER_MM)


def _blank(rng: random.Random) -> Image.Image:
    w, h = _mm(CARD_MM[0]), _mm(CARD_MM[1])
    # A pale background with a faint guilloche-like wave, as printed cards have.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.random() * 6.28
    wave = 6 * np.sin(xx / 23 + phase) * np.cos(yy / 31) + 4 * np.sin((xx + yy) / 17)
    base = np.stack([236 + wave, 238 + wave * 0.8, 232 + wave * 0.5], axis=-1)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, h - 1), radius=_mm(3.2), fill=255)
    out = Image.new("RGB", (w, h), (0, 0, 0))
    out.paste(img, (0, 0), mask)
    return out


def _portrait(face: str) -> Image.Image:
    # Start-up time: kiosk.testing.faces (the clip tools) adds ~0.2 s to importing this module,
    # and only a portrait needs it.
    from kiosk.testing.faces import face_photo

    rgb = face_photo(face)
    h, w = rgb.shape[:2]
    # Head and shoulders, as on a card: the upper middle of the photo.
    box = {"astronaut": (130, 0, 350, 270), "hopper": (60, 20, 460, 520)}.get(
        face, (0, 0, w, h))
    img = Image.fromarray(rgb).crop(box).convert("L").convert("RGB")  # the card prints grey
    return img.resize((_mm(26), _mm(32)))


def render_front(person: CardPerson, seed: int = 0) -> Image.Image:
    """The portrait side (人像面) as an RGB image of 85.6 x 54 mm at ``PX_PER_MM``."""
    img = _blank(random.Random(seed))
    d = ImageDraw.Draw(img)
    lab, val = _font(2.6), _font(3.2)
    x_lab, x_val = 5.5, 15.5
    d.text((_mm(x_lab), _mm(6.5)), "姓 名", font=lab, fill=_LABEL)
    d.text((_mm(x_val), _mm(6.1)), person.name, font=_font(3.8), fill=_TEXT)
    d.text((_mm(x_lab), _mm(13.0)), "性 别", font=lab, fill=_LABEL)
    d.text((_mm(x_val), _mm(12.7)), person.sex, font=val, fill=_TEXT)
    d.text((_mm(24.5), _mm(13.0)), "民 族", font=lab, fill=_LABEL)
    d.text((_mm(33.5), _mm(12.7)), person.nation, font=val, fill=_TEXT)
    d.text((_mm(x_lab), _mm(19.5)), "出 生", font=lab, fill=_LABEL)
    b = person.birth
    d.text((_mm(x_val), _mm(19.2)), f"{b.year}", font=val, fill=_TEXT)
    d.text((_mm(25.5), _mm(19.5)), "年", font=lab, fill=_LABEL)
    d.text((_mm(30.0), _mm(19.2)), f"{b.month}", font=val, fill=_TEXT)
    d.text((_mm(34.0), _mm(19.5)), "月", font=lab, fill=_LABEL)
    d.text((_mm(38.0), _mm(19.2)), f"{b.day}", font=val, fill=_TEXT)
    d.text((_mm(42.0), _mm(19.5)), "日", font=lab, fill=_LABEL)
    d.text((_mm(x_lab), _mm(26.0)), "住 址", font=lab, fill=_LABEL)
    for i in range(0, min(len(person.address), 33), 11):  # 11 characters a line
        d.text((_mm(x_val), _mm(25.7 + 5.0 * i / 11)), person.address[i:i + 11], font=val,
               fill=_TEXT)
    d.text((_mm(x_lab), _mm(44.5)), "公民身份号码", font=lab, fill=_LABEL)
    d.text((_mm(28.5), _mm(44.0)), person.id_number, font=_font(3.6), fill=_TEXT)
    img.paste(_portrait(person.face), (_mm(55.5), _mm(6.0)))
    return img


def render_back(person: CardPerson, seed: int = 0) -> Image.Image:
    """The emblem side (国徽面): title, 签发机关 and 有效期限."""
    img = _blank(random.Random(seed + 1))
    d = ImageDraw.Draw(img)
    d.ellipse((_mm(6), _mm(5), _mm(24), _mm(23)), fill=(200, 40, 40), outline=(220, 180, 60),
              width=_mm(0.8))
    d.text((_mm(32), _mm(8)), "中华人民共和国", font=_font(4.6), fill=_TEXT)
    d.text((_mm(24), _mm(18)), "居民身份证", font=_font(7.6), fill=_TEXT)
    d.text((_mm(15), _mm(39.5)), "签发机关", font=_font(2.6), fill=_TEXT)
    d.text((_mm(30), _mm(39.2)), person.authority, font=_font(3.2), fill=_TEXT)
    d.text((_mm(15), _mm(46.0)), "有效期限", font=_font(2.6), fill=_TEXT)
    d.text((_mm(30), _mm(45.7)), person.validity, font=_font(3.2), fill=_TEXT)
    return img


def _scene(card: np.ndarray, rng: np.random.Generator, tilt: float,
           scale: float) -> np.ndarray:
    """The card on a wooden-ish table, 1280 x 960, turned and tilted by ``tilt`` (0-1)."""
    H, W = 960, 1280
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    grain = 14 * np.sin(yy / 7 + 3 * np.sin(xx / 90)) + rng.normal(0, 4, (H, W))
    table = np.stack([150 + grain, 110 + grain * 0.8, 80 + grain * 0.6], axis=-1)
    table = np.clip(table, 0, 255).astype(np.uint8)
    h, w = card.shape[:2]
    cw, ch = W * scale, W * scale * h / w
    cx, cy = W / 2 + rng.uniform(-60, 60), H / 2 + rng.uniform(-40, 40)
    corners = np.array([[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2],
                        [-cw / 2, ch / 2]], np.float32)
    angle = np.deg2rad(rng.uniform(-4, 4) + tilt * rng.choice((-1, 1)) * 8)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    corners = corners @ rot.T
    # Perspective: the far edge shrinks, as when the phone is not parallel to the card.
    k = tilt * 0.22
    corners[0, 0] += k * cw * 0.5
    corners[1, 0] -= k * cw * 0.5
    corners[0:2, 1] += k * ch * 0.3
    corners += np.array([cx, cy], np.float32)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, corners)
    warped = cv2.warpPerspective(card, m, (W, H), flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (W, H))
    keep = (inside > 127)[..., None] & (warped.sum(axis=2, keepdims=True) > 0)
    return np.where(keep, warped, table)


def photograph(card: Image.Image, distortion: str = "clean", seed: int = 0) -> bytes:
    """JPEG bytes of ``card`` photographed with one ``distortion`` of ``DISTORTIONS``."""
    if distortion not in DISTORTIONS:
        raise ValueError(f"unknown distortion {distortion!r}; use one of {', '.join(DISTORTIONS)}")
    rng = np.random.default_rng(seed)
    rgb = np.asarray(card.convert("RGB"))
    tilt = 1.0 if distortion == "perspective" else 0.15
    img: np.ndarray = _scene(rgb, rng, tilt, scale=0.72).astype(np.float32)
    quality = 90
    if distortion == "blur":
        img = cv2.GaussianBlur(img, (0, 0), 2.2)
    elif distortion == "glare":
        H, W = img.shape[:2]
        gx, gy = rng.uniform(0.3, 0.7) * W, rng.uniform(0.3, 0.6) * H
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        spot = np.exp(-(((xx - gx) / 150) ** 2 + ((yy - gy) / 90) ** 2))
        img = img + spot[..., None] * 170
    elif distortion == "jpeg":
        quality = 18
    elif distortion == "low_light":
        img = 255 * (img / 255) ** 1.8 * 0.45 + rng.normal(0, 6, img.shape)
    elif distortion == "occlusion":
        H, W = img.shape[:2]
        # A thumb over the lower-left edge of the card, as someone holding it would.
        thumb = np.zeros((H, W), np.uint8)
        cv2.ellipse(thumb, (int(W * 0.2), int(H * 0.82)), (110, 60), -30, 0, 360, 255, -1)
        img[thumb > 0] = (200, 150, 130)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if distortion == "blur":
        out = out.filter(ImageFilter.SMOOTH)
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def card_jpeg(card: Image.Image, quality: int = 92) -> bytes:
    """The flat card as JPEG bytes (a scan rather than a photo)."""
    buf = io.BytesIO()
    card.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


FRAME_DISTORTIONS = ("clean", "blur", "glare", "cut", "far", "tilted")


def _room(W: int, H: int, rng: np.random.Generator) -> np.ndarray:
    """A dim, uneven room (float RGB, H x W x 3): a wall gradient with a darker shape (the
    person) in the middle."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    room = 70 + 40 * (xx / W) + 10 * np.sin(yy / 37) + rng.normal(0, 3, (H, W))
    person = np.exp(-(((xx - W / 2) / (W * 0.22)) ** 2 + ((yy - H * 0.45) / (H * 0.4)) ** 2))
    grey = np.clip(room - 35 * person, 0, 255)
    return np.stack([grey * 1.05, grey, grey * 0.9], axis=-1)


def _card_corners(cw: float, ch: float, cx: float, cy: float, angle_deg: float,
                  tilt: float) -> np.ndarray:
    """The card's four corners (4, 2) in the frame: ``cw`` x ``ch`` pixels centred on
    (``cx``, ``cy``), turned by ``angle_deg``, its top edge shrunk by ``tilt`` (a share of its
    width on each side: the card tipped away from the camera)."""
    corners = np.array([[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2],
                        [-cw / 2, ch / 2]], np.float32)
    angle = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]],
                   np.float32)
    corners = corners @ rot.T
    corners[0, 0] += tilt * cw
    corners[1, 0] -= tilt * cw
    return corners + np.array([cx, cy], np.float32)


def _place(scene: np.ndarray, rgb: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """``rgb`` (the flat card) warped onto ``corners`` of ``scene`` (float), anti-aliased."""
    H, W = scene.shape[:2]
    h, w = rgb.shape[:2]
    m = cv2.getPerspectiveTransform(np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32),
                                    corners)
    warped = cv2.warpPerspective(rgb, m, (W, H), flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (W, H),
                                 flags=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
    inside = inside * (warped.sum(axis=2, keepdims=True) > 0)
    return scene * (1 - inside) + warped.astype(np.float32) * inside


def video_frame(card: Image.Image, distortion: str = "clean", seed: int = 0,
                size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """One camera video frame (RGB uint8, ``size`` = (width, height)) of ``card`` held up in
    front of a dim room, with one of ``FRAME_DISTORTIONS``: ``blur`` (motion or focus),
    ``glare`` (a bright reflection across the card), ``cut`` (a corner outside the frame),
    ``far`` (the card small in the picture), ``tilted`` (in perspective)."""
    if distortion not in FRAME_DISTORTIONS:
        raise ValueError(f"unknown distortion {distortion!r}; use one of "
                         f"{', '.join(FRAME_DISTORTIONS)}")
    rng = np.random.default_rng(seed)
    W, H = size
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    scene = _room(W, H, rng)
    rgb = np.asarray(card.convert("RGB"))
    h, w = rgb.shape[:2]
    scale = 0.32 if distortion == "far" else 0.66
    cw = W * scale
    ch = cw * h / w
    cx = W / 2 + rng.uniform(-20, 20)
    cy = H / 2 + rng.uniform(-15, 15)
    if distortion == "cut":
        cx, cy = W - cw * 0.35, H - ch * 0.3  # the lower right corner leaves the frame
    corners = _card_corners(cw, ch, cx, cy, rng.uniform(-5, 5),
                            0.08 if distortion == "tilted" else 0.0)
    img = _place(scene, rgb, corners)
    img = img + rng.normal(0, 2.0, img.shape)  # sensor noise
    if distortion == "blur":
        img = cv2.GaussianBlur(img, (0, 0), 2.5)
    elif distortion == "glare":
        gx, gy = cx + rng.uniform(-0.15, 0.15) * cw, cy + rng.uniform(-0.1, 0.1) * ch
        spot = np.exp(-(((xx - gx) / (cw * 0.22)) ** 2 + ((yy - gy) / (ch * 0.25)) ** 2))
        img = img + spot[..., None] * 200
    return np.clip(img, 0, 255).astype(np.uint8)


def held_card_clip(card: Image.Image, seconds: float = 6.0, fps: int = 15, seed: int = 0,
                   size: tuple[int, int] = (640, 480)):
    """The frames (RGB uint8, ``size`` = (width, height)) of a card brought up to a camera by
    hand, ``seconds`` long at ``fps``: first held too far away (1 s, "move closer"), then
    with a corner out of the frame (0.6 s, "all four corners in view"), then held up,
    swaying a little as a hand does (a few pixels, 1.5 degrees of turn and a little tip
    away from the camera, periods of 2-3 s) for the rest. A generator, so a long clip is
    never in memory at once."""
    if seconds < 2.0 or fps < 1:
        raise ValueError(f"a clip needs at least 2 s at 1 fps or more, got {seconds} s at {fps}")
    rng = np.random.default_rng(seed)
    W, H = size
    rgb = np.asarray(card.convert("RGB"))
    h, w = rgb.shape[:2]
    room = _room(W, H, rng)
    for i in range(round(seconds * fps)):
        t = i / fps
        if t < 1.0:  # far away, moving in
            cw = W * (0.28 + 0.03 * t)
            cx, cy, angle, tilt = W / 2 - 60 + 40 * t, H / 2 + 30, -6.0, 0.05
        elif t < 1.6:  # close, but the lower right corner is out of the frame
            cw = W * 0.66
            cx, cy, angle, tilt = W - cw * 0.38, H - cw * h / w * 0.35, -3.0, 0.03
        else:  # held up, swaying a little
            cw = W * (0.66 + 0.01 * np.sin(2 * np.pi * t / 3.1))
            cx = W / 2 + 6 * np.sin(2 * np.pi * t / 2.3)
            cy = H / 2 + 4 * np.sin(2 * np.pi * t / 2.9 + 1.0)
            angle = 1.5 * np.sin(2 * np.pi * t / 2.7)
            tilt = 0.02 + 0.015 * np.sin(2 * np.pi * t / 3.3)
        corners = _card_corners(cw, cw * h / w, cx, cy, angle, tilt)
        img = _place(room, rgb, corners) + rng.normal(0, 2.0, room.shape)  # sensor noise
        yield np.clip(img, 0, 255).astype(np.uint8)


def photograph_screen(card: Image.Image, seed: int = 0) -> bytes:
    """JPEG bytes of ``card`` shown on a screen and photographed (a recapture attack): the
    card drawn on a pixel grid of RGB subpixel stripes with a dark gap between rows, a black
    bezel round it and a faint reflection on the glass; photographed in perspective onto a
    1280 x 960 sensor that samples the light without an anti-aliasing filter (the grid
    aliases into moiré), then the camera's exposure and gamma, a little defocus and JPEG.
    The screen's pixel size, the bezel, the pose, the defocus and the JPEG quality vary with
    ``seed`` (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    sub = int(rng.integers(1, 3))  # world pixels per subpixel stripe
    k = 3 * sub + 1  # world pixels per screen pixel: 3 stripes and a dark gap
    screen_w = int(rng.integers(260, 420))  # screen pixels across the card
    rgb = np.asarray(card.convert("RGB"))
    h, w = rgb.shape[:2]
    screen_h = round(screen_w * h / w)
    shown = cv2.resize(rgb, (screen_w, screen_h), interpolation=cv2.INTER_AREA)
    bezel = int(rng.integers(12, 40))  # screen pixels of black border round the picture
    panel = np.full((screen_h + 2 * bezel, screen_w + 2 * bezel, 3), 4.0, np.float32)
    panel[bezel:bezel + screen_h, bezel:bezel + screen_w] = shown
    light = (panel / 255.0) ** 2.2  # the panel's light (display gamma)
    mask = np.zeros((k, k, 3), np.float32)
    for c in range(3):
        mask[: k - 1, c * sub:(c + 1) * sub, c] = 1.0
    world = np.repeat(np.repeat(light, k, axis=0), k, axis=1)
    world *= np.tile(mask, (panel.shape[0], panel.shape[1], 1))
    W, H = 1280, 960
    ww, wh = world.shape[1], world.shape[0]
    cw = W * rng.uniform(0.62, 0.8)
    ch = cw * wh / ww
    cx, cy = W / 2 + rng.uniform(-40, 40), H / 2 + rng.uniform(-30, 30)
    corners = _card_corners(cw, ch, cx, cy, rng.uniform(-8, 8), rng.uniform(0.0, 0.06))
    m = cv2.getPerspectiveTransform(
        np.array([[0, 0], [ww, 0], [ww, wh], [0, wh]], np.float32), corners)
    # A sensor samples the light at points: INTER_LINEAR, no area averaging (no AA filter).
    shot = cv2.warpPerspective(world, m, (W, H), flags=cv2.INTER_LINEAR,
                               borderValue=(-1, -1, -1))
    on_screen = shot[..., :1] >= 0
    xx = np.arange(W, dtype=np.float32)[None, :, None]
    glow = 0.04 * rng.uniform(0.2, 1.0) * np.exp(-((xx - rng.uniform(0, W)) / 400) ** 2)
    exposure = rng.uniform(2.2, 3.0)  # the stripes light a third of the area
    cam = np.where(on_screen, np.clip((shot + glow) * exposure, 0, 1) ** (1 / 2.2) * 255,
                   _room(W, H, rng))
    img: np.ndarray = cam + rng.normal(0, 2.0, cam.shape)
    sigma = rng.uniform(0.0, 1.6)  # up to a clearly defocused shot: less moiré
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=int(rng.integers(70, 93)))
    return buf.getvalue()
