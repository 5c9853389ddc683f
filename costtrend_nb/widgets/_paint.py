"""A board's figure as PNG bytes, repainting only the panels that changed.

The figure is laid out once (constrained layout) and that layout is then kept: a redraw clears
the columns a changed axes may use (between the other panels) and paints only that axes there,
which saves the layout's solver and the drawing of the other panel. When a repainted panel no
longer fits (it reaches another panel or the figure's edge: a longer legend, wider tick labels)
or leaves much of its place empty, the whole figure is laid out and drawn again, so no text is
ever cut or overlapped.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

__all__ = ["Painter", "encode_png"]

SLACK_IN = 0.3  # how far (inches) a panel may shrink inside its slot before a new layout
PAD_PX = 1.0  # a panel's texts stay this far inside the figure
GAP_PX = 4.0  # and this far from another panel's
W_PAD_IN = 6 / 72  # twice the default space beside each panel: room for a wider tick label
WHITE_FROM = 252  # a palette colour this pale in every channel is shown as pure white
HALO_PX = 2  # pixels around a panel's extent that its drawing may touch (antialiasing)


def encode_png(canvas: Any) -> bytes:
    """The canvas's pixels as PNG bytes with a palette of 256 colours, quickly compressed: a
    third of the bytes of full colour, and faster to make (a figure's flat colours and text
    shades fit in 256). ``reportkernel.optimise_png`` makes the reports' figures the same way
    but keeps white exactly with a pixel mask, 20 ms more per image than a dashboard can
    spend: here the palette's near-white colours are made white instead.

    Example:
        >>> import io
        >>> from PIL import Image
        >>> from matplotlib.figure import Figure
        >>> from matplotlib.backends.backend_agg import FigureCanvasAgg
        >>> fig = Figure(figsize=(2, 1)); canvas = FigureCanvasAgg(fig); canvas.draw()
        >>> image = Image.open(io.BytesIO(encode_png(canvas)))
        >>> image.mode, image.convert("RGB").getpixel((0, 0))  # white stays pure white
        ('P', (255, 255, 255))
    """
    from PIL import Image

    width, height = canvas.get_width_height(physical=True)
    rgba = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = rgba.convert("RGB").quantize(
        256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    image.putpalette(_white_kept(image.getpalette("RGB") or []), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _white_kept(palette: list[int]) -> list[int]:
    """The palette with its near-white colours made pure white: the octree averages the
    figure's white face with the palest pixels next to it, a faint grey on a white page.

    Example:
        >>> _white_kept([254, 254, 254, 250, 253, 255, 200, 220, 240])
        [255, 255, 255, 250, 253, 255, 200, 220, 240]
    """
    out = list(palette)
    for i in range(0, len(out) - 2, 3):
        if min(out[i : i + 3]) >= WHITE_FROM:
            out[i : i + 3] = [255, 255, 255]
    return out


class Painter:
    """Paints ``fig`` (an Agg figure with constrained layout) and hands back PNG bytes.

    Example:
        >>> from matplotlib.figure import Figure
        >>> from matplotlib.backends.backend_agg import FigureCanvasAgg
        >>> fig = Figure(figsize=(6, 2), layout="constrained"); _ = FigureCanvasAgg(fig)
        >>> left, right = fig.subplots(1, 2)
        >>> painter = Painter(fig)
        >>> painter.png().startswith(b"\\x89PNG"), painter.full_paints
        (True, 1)
        >>> painter.measure()                # before a panel is redrawn: where each one is
        >>> _ = right.plot([1, 2, 3])
        >>> _ = painter.png(changed=[1]); painter.full_paints   # only the right panel repainted
        1
        >>> _ = left.set_title("A title the kept layout has no room for")
        >>> _ = painter.png(changed=[0], relayout=True); painter.full_paints
        2
    """

    def __init__(self, fig: Any) -> None:
        self.fig = fig
        self.full_paints = 0  # how often the figure was laid out and drawn whole
        self._boxes: list[Any] | None = None  # each axes' extent (with texts) as laid out
        self._painted: list[Any] = []  # each axes' extent as painted now

    def png(self, changed: Iterable[int] | None = None, *, relayout: bool = False) -> bytes:
        """The figure as PNG bytes; ``changed`` lists the axes redrawn since the last call
        (``None``: unknown, paint all). ``relayout``: a changed panel is known to need a new
        layout (it shows something else), so skip trying it in the kept one."""
        if relayout or changed is None or not self._repaint(sorted(set(changed))):
            self._paint_all()
        return encode_png(self.fig.canvas)

    def measure(self) -> None:
        """Note where each axes and its texts lie as painted, before one is redrawn for a
        repaint in this layout (measured only then: a new layout does not need it)."""
        if self._boxes is None and self.full_paints:
            renderer = self.fig.canvas.get_renderer()
            self._boxes = [ax.get_tightbbox(renderer) for ax in self.fig.axes]
            self._painted = list(self._boxes)

    def _paint_all(self) -> None:
        fig = self.fig
        fig.set_layout_engine("constrained", w_pad=W_PAD_IN)
        fig.canvas.draw()
        self._boxes = None  # until measure(): the next change may need a new layout anyway
        fig.set_layout_engine("none")  # keep this layout until a panel outgrows it
        self.full_paints += 1

    def _repaint(self, changed: list[int]) -> bool:
        """Paint the ``changed`` axes over the kept pixels; False when one no longer fits.

        The columns between the unchanged panels' extents are cleared, the changed axes drawn
        there; each must then keep ``GAP_PX`` from every other panel, stay inside the figure,
        and not leave more than ``SLACK_IN`` of what the layout gave it empty.
        """
        import numpy as np
        from matplotlib.colors import to_rgba

        fig = self.fig
        axes = fig.axes
        if self._boxes is None:
            return False  # not measured before the redraw: lay out again
        if len(axes) != len(self._boxes) or any(i >= len(axes) for i in changed):
            return False
        canvas = fig.canvas
        renderer = canvas.get_renderer()
        pixels = np.asarray(canvas.buffer_rgba())
        width, height = canvas.get_width_height(physical=True)
        if pixels.shape[:2] != (height, width):
            return False  # the canvas was resized: lay out again
        face = np.array([round(255 * c) for c in to_rgba(fig.get_facecolor())], dtype=np.uint8)
        kept = [box for i, box in enumerate(self._painted) if i not in changed]
        for i in changed:  # clear from the nearest kept panel on the left to the one on the right
            left = max((b.x1 for b in kept if b.x1 <= self._painted[i].x0), default=-GAP_PX)
            right = min((b.x0 for b in kept if b.x0 >= self._painted[i].x1), default=width + GAP_PX)
            pixels[:, max(0, int(left) + HALO_PX) : min(width, int(right) - HALO_PX)] = face
        for i in changed:
            fig.draw_artist(axes[i])
        for i in changed:
            self._painted[i] = axes[i].get_tightbbox(renderer)
        slack = SLACK_IN * fig.dpi
        for i in changed:
            box, laid = self._painted[i], self._boxes[i]
            inside = (
                box.x0 >= PAD_PX
                and box.y0 >= PAD_PX
                and box.x1 <= width - PAD_PX
                and box.y1 <= height - PAD_PX
            )
            apart = all(
                box.x1 + GAP_PX <= other.x0 or other.x1 + GAP_PX <= box.x0
                for j, other in enumerate(self._painted)
                if j != i
            )
            snug = (
                box.x0 - laid.x0 <= slack
                and laid.x1 - box.x1 <= slack
                and box.y0 - laid.y0 <= slack
                and laid.y1 - box.y1 <= slack
            )
            if not (inside and apart and snug):
                return False
        return True
