"""What runs inside a report's kernel, before each notebook: crisp figures and a clean slate.

:func:`prepare` makes every matplotlib figure come out as a 2x PNG (palette-quantised to keep
the page small) carrying its CSS size and its alt text; :func:`reset` returns a kernel that has
run a notebook to the state :func:`prepare` left, so the next notebook starts as in a fresh
kernel without paying for a kernel start and the imports again. Neither touches the notebooks'
own files: ``costtrend-nb report`` runs them in a cell it adds and removes before export.

Example:
    >>> png, meta = figure_png(_example_figure())
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", meta["alt"]
    (True, 'A title.')
    >>> from PIL import Image
    >>> import io
    >>> Image.open(io.BytesIO(png)).size == (2 * meta["width"], 2 * meta["height"])
    True
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from typing import Any

__all__ = ["SCALE", "figure_alt_text", "figure_png", "optimise_png", "prepare", "reset"]

SCALE = 2  # pixels per CSS pixel: crisp on high-density screens
COLOURS = 256  # a flat plot's antialiased edges survive a 256-colour palette unseen
PNG_COMPRESSION = 8  # zlib: 9 is 2 % smaller and 2.5x slower (0.1 s against 0.04 s a figure)

_saved: dict[str, Any] = {}


def figure_alt_text(fig: Any) -> str:
    """The figure's alt text: :func:`costtrend_nb.plot.figure_alt_text`, else its titles."""
    try:
        from .plot import figure_alt_text as describe
    except ImportError:  # pragma: no cover - an older plot package
        pass
    else:
        text = describe(fig)
        if text:
            return str(text)
    suptitle = getattr(fig, "_suptitle", None)
    titles = [suptitle.get_text()] if suptitle is not None else []
    titles += [ax.get_title() or ax.get_title(loc="left") for ax in fig.axes]
    return "; ".join(t for t in titles if t) or "A chart without a title"


def optimise_png(png: bytes, colours: int = COLOURS, even: bool = False) -> bytes:
    """An opaque PNG re-encoded with a palette of at most ``colours``; with ``even``, padded on
    the right and bottom to even sides with white.

    Example:
        >>> from PIL import Image
        >>> png, _ = figure_png(_example_figure())
        >>> image = Image.open(io.BytesIO(optimise_png(png)))
        >>> image.mode, image.convert("RGB").getpixel((0, 0))  # white stays pure white
        ('P', (255, 255, 255))
    """
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGBA")
    if even and (image.width % 2 or image.height % 2):
        padded = Image.new("RGBA", (image.width + image.width % 2, image.height + image.height % 2),
                           "white")  # fmt: skip
        padded.paste(image, (0, 0))
        image = padded
    # the octree merges white with the palest colours of a plot (a tinted background): quantise
    # to one colour fewer and give the pixels that are pure white a palette entry of their own
    import numpy as np

    pixels = np.asarray(image)
    octree = image.quantize(colours - 1, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    indices = np.asarray(octree).copy()
    indices[(pixels[..., :3] == 255).all(axis=-1)] = colours - 1
    palette = (octree.getpalette("RGB") or [])[: 3 * (colours - 1)]
    palette += [0] * (3 * (colours - 1) - len(palette)) + [255, 255, 255]
    quantised = Image.fromarray(indices, mode="P")
    quantised.putpalette(palette, "RGB")  # opaque: figures are drawn on a white face
    out = io.BytesIO()
    quantised.save(out, format="PNG", compress_level=PNG_COMPRESSION)
    return out.getvalue()


def figure_png(fig: Any) -> tuple[bytes, dict[str, Any]] | None:
    """A figure as a 2x PNG and its display metadata: CSS width and height (exactly half the
    pixels: the sides are padded to even numbers), and alt text.

    Returns None for a figure with nothing drawn (as matplotlib's own formatter does).
    """
    if not fig.axes and not fig.lines and not fig.texts and not fig.images and not fig.patches:
        return None
    buffer = io.BytesIO()
    # a figure with a layout engine (every plot of ours) already fits its text inside itself
    # (tests/test_plot_layout.py checks), so it is drawn once; "tight" would draw it three times
    tight = None if fig.get_layout_engine() is not None else "tight"
    fig.canvas.print_figure(
        buffer, format="png", dpi=fig.dpi * SCALE, bbox_inches=tight, facecolor="white",
        pil_kwargs={"compress_level": 0},  # re-encoded below: no time spent compressing twice
    )  # fmt: skip
    png = optimise_png(buffer.getvalue(), even=True)
    width, height = _png_size(png)
    meta = {"width": width // SCALE, "height": height // SCALE, "alt": figure_alt_text(fig)}
    return png, meta


def _png_size(png: bytes) -> tuple[int, int]:
    # the IHDR chunk: width and height, big-endian, after the 8-byte signature and 8 bytes of
    # chunk length and type
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def prepare(cwd: str | None = None) -> None:
    """Set up this kernel for reports (in folder ``cwd``) and remember the state
    :func:`reset` returns to."""
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    # load the inline backend now: it sets its own PNG formatter, once, when loaded
    with contextlib.suppress(ImportError):
        import matplotlib_inline.backend_inline  # noqa: F401
    shell = _shell()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    plt.switch_backend(matplotlib.get_backend())  # resolved now, so no later switch re-hooks
    _no_draw_after_each_cell()
    plt.close("all")
    if cwd is not None:
        os.chdir(cwd)
    _saved.update(
        rc=dict(matplotlib.rcParams),
        warnings=list(warnings.filters),
        cwd=os.getcwd(),
        environ=dict(os.environ),
        path=list(sys.path),
        pandas=_pandas_options(),
    )


def reset(cwd: str | None = None) -> None:
    """Return this kernel to the state :func:`prepare` recorded: the user's names, figures,
    matplotlib settings, warning filters (and which warnings were shown), pandas options,
    working folder (or ``cwd``), environment and ``sys.path``. Imported modules stay loaded."""
    import matplotlib
    import matplotlib.pyplot as plt

    if not _saved:
        raise RuntimeError("reset() needs prepare() first")
    shell = _shell()
    if shell is not None:
        shell.reset(new_session=False)
    _no_draw_after_each_cell()
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setting deprecated rcParams warns
        matplotlib.rcParams.update(_saved["rc"])
    warnings.filters[:] = _saved["warnings"]  # type: ignore[index]
    warnings._filters_mutated()  # type: ignore[attr-defined]  # forget warnings already shown
    os.chdir(cwd if cwd is not None else _saved["cwd"])
    os.environ.clear()
    os.environ.update(_saved["environ"])
    sys.path[:] = _saved["path"]
    import pandas as pd

    for key, value in _saved["pandas"].items():
        if pd.get_option(key) != value:
            pd.set_option(key, value)
    if shell is not None:  # in case the notebook replaced it
        from matplotlib.figure import Figure

        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def _no_draw_after_each_cell() -> None:
    """Stop pyplot drawing every open figure after each cell: the figures are drawn for the
    page by :func:`figure_png` anyway, and that extra 1x draw was a fifth of a report's time."""
    import matplotlib.pyplot as plt

    plt.uninstall_repl_displayhook()


def _pandas_options() -> dict[str, Any]:
    import pandas as pd

    options: dict[str, Any] = {}
    for key in ("display.float_format", "display.max_columns", "display.max_rows",
                "display.precision", "display.width", "display.max_colwidth"):  # fmt: skip
        options[key] = pd.get_option(key)
    return options


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the kernel always has IPython
        return None
    return get_ipython()


def _example_figure() -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    fig.add_subplot().set_title("A title")
    return fig
