"""Matplotlib figures written atomically as PNG, without a display and without timestamps."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..fileio import atomic_path  # noqa: E402

# the seed programs used matplotlib's default canvas: 6.4 x 4.8 inches at 100 dpi = 640x480 pixels
FIGSIZE = (6.4, 4.8)
DPI = 100


def save_figure(fig, path: str | os.PathLike) -> None:
    """Save ``fig`` as PNG at ``path`` atomically and close it. No 'Software' stamp, so bytes are stable."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)


def to_display(images: np.ndarray) -> np.ndarray:
    """Images in [-1, 1] (float, generator output) or uint8 -> float in [0, 1], shape (N, H, W, C)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return np.clip(0.5 * images.astype(np.float32) + 0.5, 0.0, 1.0)


def grid_figure(images: np.ndarray, rows: int, cols: int, titles=None):
    """A 640x480 figure with a rows x cols grid of the first rows*cols ``images`` ((N, H, W, C), C = 1 or 3).

    Accepts generator output in [-1, 1] or uint8 pictures; single-channel images are drawn in gray.
    With fewer than rows*cols images (N >= 1) the cells after the last image are left blank.
    """
    shown = to_display(images)
    if len(shown) < 1:
        raise ValueError(f"a {rows}x{cols} grid needs at least one image, got none")
    if titles is None:  # one picture of all cells: a figure of rows x cols axes takes ~10x longer to build and draw
        return _mosaic_figure(shown[: rows * cols], rows, cols)
    fig, axes = plt.subplots(rows, cols, figsize=FIGSIZE, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < len(shown):
            img = shown[i]
            if img.shape[-1] == 1:
                ax.imshow(img[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
            else:
                ax.imshow(img)
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
        ax.axis("off")
    if titles is not None:
        fig.tight_layout()
    return fig


GAP = 0.2  # white space between a grid's cells, in cell sides (as matplotlib's subplots space them)


def _mosaic_figure(shown: np.ndarray, rows: int, cols: int):
    """``shown`` (n <= rows*cols images in [0, 1]) tiled into one picture with white gaps, drawn in the
    area a rows x cols figure of subplots fills; cells after the last image stay blank."""
    _, height, width, channels = shown.shape
    gap_y, gap_x = round(GAP * height), round(GAP * width)
    mosaic = np.ones((rows * height + (rows - 1) * gap_y, cols * width + (cols - 1) * gap_x, channels), np.float32)
    for i, image in enumerate(shown):
        r, c = divmod(i, cols)
        mosaic[r * (height + gap_y):r * (height + gap_y) + height, c * (width + gap_x):c * (width + gap_x) + width] = image
    fig = plt.figure(figsize=FIGSIZE)
    ax = fig.add_axes((0.125, 0.11, 0.775, 0.77))  # matplotlib's default subplot area
    if channels == 1:
        ax.imshow(mosaic[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(mosaic)
    ax.axis("off")
    return fig


def save_image_grid(images: np.ndarray, path: str | os.PathLike, rows: int, cols: int, titles=None) -> None:
    """Write :func:`grid_figure` of ``images`` as a 640x480 PNG."""
    save_figure(grid_figure(images, rows, cols, titles), path)


def save_pairs_figure(top: np.ndarray, bottom: np.ndarray, path: str | os.PathLike, *, labels: tuple[str, str],
                      top_titles, bottom_titles, title: str = "") -> None:
    """Two labelled rows of images, column i pairing ``top[i]`` with ``bottom[i]``, as a 640x480 PNG:
    ``labels`` name the rows (left margin), the titles go above each image, ``title`` above all."""
    fig, axes = plt.subplots(2, len(top), figsize=FIGSIZE, squeeze=False)
    for row, (images, titles) in enumerate(((top, top_titles), (bottom, bottom_titles))):
        shown = to_display(images)
        for ax, img, text in zip(axes[row], shown, titles):
            ax.imshow(img[..., 0], cmap="gray", vmin=0.0, vmax=1.0) if img.shape[-1] == 1 else ax.imshow(img)
            ax.set_title(text, fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row][0].set_ylabel(labels[row], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def figure_pixels(fig) -> np.ndarray:
    """Render ``fig`` at the PNGs' size and close it: uint8 RGB (H, W, 3), e.g. for ``dvclive.Live.log_image``."""
    fig.set_dpi(DPI)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return pixels


def save_pixels(pixels: np.ndarray, path: str | os.PathLike) -> None:
    """Write uint8 RGB ``pixels`` as PNG at ``path`` atomically (PIL, as DVCLive's ``log_image`` does)."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="png")


def _marks(ax, marks) -> None:
    for i, x in enumerate(marks):
        ax.axvline(x, color="tab:purple", linestyle=":", linewidth=1.5, label="D reset" if i == 0 else None)


def save_loss_plot(steps, d_loss, g_loss, path: str | os.PathLike, marks=()) -> None:
    """The original program's loss plot: G dashed red, D solid green, against the step, y from 0.

    ``marks``: steps of discriminator resets, drawn as dotted vertical lines.
    """
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot(np.asarray(steps), np.asarray(g_loss), "r--", label="generator loss")
    ax.plot(np.asarray(steps), np.asarray(d_loss), "g-", label="discriminator loss")
    _marks(ax, marks)
    ax.set_xlabel("step")
    ax.set_ylabel("binary cross-entropy")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title("GAN losses")
    save_figure(fig, path)


def save_accuracy_plot(steps, d_acc, path: str | os.PathLike, marks=()) -> None:
    """Discriminator accuracy (mean of the real and fake halves) against the step."""
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot(np.asarray(steps), np.asarray(d_acc), "b-", label="discriminator accuracy")
    _marks(ax, marks)
    ax.axhline(0.5, color="gray", linestyle=":", linewidth=1, label="chance")
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.set_title("Discriminator accuracy")
    save_figure(fig, path)


def histogram_figure(values, *, reference=None, target=None, title: str = ""):
    """Histogram of generated 1-D ``values`` against real ``reference`` values and/or a ``target``
    normal density given as (mean, variance)."""
    values = np.asarray(values, dtype=np.float64)
    pool = [values] + ([np.asarray(reference, dtype=np.float64)] if reference is not None else [])
    low = min(float(np.percentile(p, 0.5)) for p in pool)
    high = max(float(np.percentile(p, 99.5)) for p in pool)
    if target is not None:
        mean, std = target[0], float(np.sqrt(target[1]))
        low, high = min(low, mean - 4 * std), max(high, mean + 4 * std)
    if high <= low:  # a single value, or all equal: numpy cannot bin an empty range
        low, high = low - 0.5, high + 0.5
    bins = np.linspace(low, high, 51)
    fig, ax = plt.subplots(figsize=FIGSIZE)
    if reference is not None:
        # one filled outline, not a patch per bar: the same picture, quicker to build and draw (21 per 1-D run)
        density, _ = np.histogram(pool[1], bins=bins, density=True)
        ax.stairs(density, bins, fill=True, color="0.75", label="real samples")
    ax.hist(values, bins=bins, density=True, histtype="step", color="tab:red", linewidth=2,
            label=f"generated (mean {values.mean():.2f}, std {values.std():.2f})")
    if target is not None:
        xs = np.linspace(low, high, 400)
        ax.plot(xs, np.exp(-0.5 * ((xs - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi)), "k--",
                label=f"target N({mean:g}, {target[1]:g})")
    ax.set_xlabel("value")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend()
    return fig


def save_histogram(values, path: str | os.PathLike, *, reference=None, target=None, title: str = "") -> None:
    """Write :func:`histogram_figure` as a 640x480 PNG."""
    save_figure(histogram_figure(values, reference=reference, target=target, title=title), path)


class GridRenderer:
    """Generated images (n, H, W, C) in [-1, 1] -> the first rows x cols as a grid: uint8 RGB pixels."""

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = int(rows), int(cols)
        self.count = self.rows * self.cols

    def __call__(self, generated: np.ndarray, steps: int | None = None) -> np.ndarray:
        return figure_pixels(grid_figure(generated, self.rows, self.cols))


class HistogramRenderer:
    """Generated 1-D values (n, 1) -> their histogram over the real ``reference`` values: uint8 RGB pixels."""

    count = 1000  # generated values per histogram

    def __init__(self, reference: np.ndarray):
        self.reference = np.asarray(reference).reshape(-1)

    def __call__(self, generated: np.ndarray, steps: int | None = None) -> np.ndarray:
        title = f"after {steps} steps" if steps is not None else ""
        return figure_pixels(histogram_figure(generated[:, 0], reference=self.reference, title=title))
