"""view: a received object's image in the terminal, or what it holds in words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

from getsh.context import Context
from getsh.dicom.query.rows import is_selection, numbers
from getsh.errors import UsageError
from getsh.registry import Arg, Suggestion, command
from getsh.results import ImageView
from getsh.setting_values import one_or_more

MAX_WIDTH = 1000  # characters: --width past it is a typing mistake
OFFERED = 50  # completion offers the last this many received objects


def _objects(text: str) -> str:
    if not is_selection(text):
        raise ValueError(f"{text!r} is not a number of received objects (3, 2-5,8, all; see: received)")
    return text


def _received(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    """The numbers of the last objects received, with their modality and SOP class beside them."""
    from pydicom.uid import UID

    for item in ctx.session.received[-OFFERED:]:
        number = str(item.index)
        if number.startswith(text):
            name = UID(item.sop_class_uid).name if item.sop_class_uid else ""
            yield Suggestion(number, " ".join(w for w in (item.modality, name) if w))


def _width(text: str) -> int:
    width = one_or_more("characters")(text)
    if width > MAX_WIDTH:
        raise ValueError(f"{width} characters is wider than any terminal (at most {MAX_WIDTH})")
    return width


@command(
    "view",
    "a received object's image in the terminal (several: thumbnails); SR, PDF and others in words",
    help="""
Draws object N of 'received' in the terminal, from the file getsh wrote: each character
cell is two pixels (the upper half block with two colours), scaled to fit the terminal,
or --width characters wide. The object's own window is used (its first Window Center/
Width; else its VOI LUT; else the range of its pixels), after its Rescale Slope/Intercept;
MONOCHROME1 is inverted, YBR converted to RGB, PALETTE COLOR drawn through its palette.
--frame K draws frame K of a multi-frame object (the first by default). Several numbers
(view 1-12, view 2,5,9, view all) draw a strip of thumbnails, each with its number.
The caption says how it was drawn: size, frame, window, rescale.

Uncompressed and RLE objects are decoded by pydicom itself; the JPEG family (baseline,
extended, lossless, JPEG-LS, JPEG 2000, HTJ2K) needs a decoder plugin: pip install
'getsh[codecs]'. Without one, view says which to install.

An object without an image says what it is instead: a structured report its content tree,
an encapsulated PDF its title and size, a waveform its channels, others their SOP class and
what they hold. An object whose header claims more pixels than its pixel data holds, or an
absurd size, is refused with one line and never decoded.

Examples:
  view 1
  view 3 --frame 5
  view 1-12                  thumbnails
  view 2 --width 40
  show 1 --image             the same as view 1
""",
    args=[Arg("objects", "numbers in 'received': 3, 2-5,8, all", type=_objects, metavar="N", complete=_received),
          Arg("frame", "the frame of a multi-frame object to draw (1 is the first)", option="--frame",
              type=one_or_more("frames"), metavar="K"),
          Arg("width", "the picture's width in characters (a thumbnail's, for several)", option="--width",
              type=_width, metavar="COLUMNS")],
    category="retrieve",
    record=False,
)
def view(ctx: Context, args: SimpleNamespace) -> ImageView:
    received = ctx.session.received
    if not received:
        raise UsageError("nothing has been received in this session yet", "get something first, then view N")
    chosen = numbers(args.objects, len(received), noun="object", having=f"{len(received)} received so far",
                     see="received")
    if len(chosen) == 1 and "," not in args.objects and "-" not in args.objects and args.objects != "all":
        return ImageView((one(ctx, chosen[0], args.frame),), args.width)
    from getsh.dicom.image import THUMBNAIL, NotViewable, Unviewable

    items: list[object] = []
    for number in chosen:
        try:
            items.append(one(ctx, number, args.frame, THUMBNAIL))
        except NotViewable as error:
            items.append(Unviewable(number, error.message, error.hint))
    refused = sum(isinstance(item, Unviewable) for item in items)
    return ImageView(tuple(items), args.width, strip=True, refused=refused)


def one(ctx: Context, number: int, frame: int | None = None, preview: int | None = None) -> object:
    """Object ``number`` of 'received' as a Picture or Description; NotViewable when it cannot be drawn."""
    from getsh.dicom.image import PREVIEW, NotViewable, look

    item = ctx.session.received[number - 1]
    if item.path is None:
        raise NotViewable(f"object {number} was received with storage ignore: it was not kept",
                          "set storage normal and get it again")
    return look(Path(item.output_dir) / item.path, number, frame, preview or PREVIEW)


def image_of(ctx: Context, number: int) -> ImageView:
    """``show N --image``: object N drawn as ``view N`` draws it."""
    if number > len(ctx.session.received):
        raise UsageError(f"there is no object {number}: {len(ctx.session.received)} received so far",
                         "see: received")
    return ImageView((one(ctx, number),))
