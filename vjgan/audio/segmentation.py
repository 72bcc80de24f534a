"""Song sections by Laplacian segmentation of the recurrence structure (McFee & Ellis, ISMIR 2014).

Why this method: it finds repeated material (verse, chorus) and not just novelty peaks, so two
choruses get the same label and a preset can key a look on "chorus" rather than on a time stamp.

Steps, all on beat-synchronous features:
1. recurrence graph: mutual k-nearest neighbours of time-delay-embedded timbre+chroma, smoothed along
   diagonals so only repeated *sequences* link (not single similar beats);
2. path graph: links each beat to the next, weighted by local timbre similarity (keeps sections contiguous);
3. balanced sum of both, symmetric normalised Laplacian, its smallest eigenvectors, median-smoothed in time;
4. k-means on the row-normalised first k eigenvectors → one label per beat; runs of equal labels → sections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh
from scipy.ndimage import median_filter


@dataclass(frozen=True, slots=True)
class Section:
    start: float  # seconds
    end: float  # seconds
    label: int  # same label = same kind of material (0..k-1, numbered by first appearance)


def beat_sync(features: np.ndarray, frame_times: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """Median of `features` (n_frames, d) within each [boundaries[i], boundaries[i+1]) interval."""
    idx = np.searchsorted(frame_times, boundaries)
    out = np.zeros((len(boundaries) - 1, features.shape[1]), dtype=np.float64)
    for i in range(len(boundaries) - 1):
        a, b = idx[i], max(idx[i + 1], idx[i] + 1)
        out[i] = np.median(features[a:b], axis=0) if a < len(features) else features[-1]
    return out


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8)


def _delay_embed(x: np.ndarray, radius: int) -> np.ndarray:
    """Stack each beat with its `radius` neighbours on both sides (edge-padded), so similarity compares
    short sequences; centred so a boundary does not drift later by the embedding length."""
    padded = np.vstack([np.repeat(x[:1], radius, axis=0), x, np.repeat(x[-1:], radius, axis=0)])
    return np.hstack([padded[s : s + len(x)] for s in range(2 * radius + 1)])


def recurrence(x: np.ndarray, k: int, width: int = 3) -> np.ndarray:
    """Mutual k-NN affinity (0/1), excluding the `width` nearest beats on the diagonal."""
    n = len(x)
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    idx = np.arange(n)
    d[np.abs(idx[:, None] - idx[None, :]) < width] = np.inf
    k = max(1, min(k, n - 2 * width))
    nn = np.argsort(d, axis=1)[:, :k]
    r = np.zeros((n, n), dtype=bool)
    r[np.repeat(idx, k), nn.ravel()] = True
    r &= np.isfinite(d)
    return (r & r.T).astype(np.float64)


def _diagonal_smooth(r: np.ndarray, size: int) -> np.ndarray:
    """Median filter along diagonals (in the time-lag domain) to keep only repeated sequences."""
    n = len(r)
    if size < 2:
        return r
    # time-lag representation: lag[l, i] = r[i, (i + l) % n]
    i = np.arange(n)
    lag = r[i[None, :], (i[None, :] + i[:, None]) % n]
    lag = median_filter(lag, size=(1, size), mode="nearest")
    out = np.zeros_like(r)
    out[i[None, :], (i[None, :] + i[:, None]) % n] = lag
    return np.maximum(out, out.T)


def _path_graph(x: np.ndarray) -> np.ndarray:
    n = len(x)
    d = np.sum(np.diff(x, axis=0) ** 2, axis=1)
    sigma = np.median(d) + 1e-8
    w = np.exp(-d / sigma)
    p = np.zeros((n, n))
    p[np.arange(n - 1), np.arange(1, n)] = w
    p[np.arange(1, n), np.arange(n - 1)] = w
    return p


def _kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 100) -> np.ndarray:
    """Plain k-means++ with a fixed seed (deterministic labels for a given input)."""
    rng = np.random.RandomState(seed)
    centres = [x[rng.randint(len(x))]]
    for _ in range(1, k):
        d = np.min(np.sum((x[:, None] - np.array(centres)[None]) ** 2, axis=-1), axis=1)
        p = d / d.sum() if d.sum() > 0 else np.full(len(x), 1 / len(x))
        centres.append(x[rng.choice(len(x), p=p)])
    c = np.array(centres)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iters):
        new = np.argmin(np.sum((x[:, None] - c[None]) ** 2, axis=-1), axis=1)
        if _ > 0 and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            if np.any(labels == j):
                c[j] = x[labels == j].mean(axis=0)
    return labels


def laplacian_labels(
    timbre: np.ndarray, chroma: np.ndarray, n_sections: int | None = None, max_sections: int = 8
) -> np.ndarray:
    """One label per beat from beat-synchronous timbre (n, d1) and chroma (n, 12) features."""
    n = len(timbre)
    if n < 8:
        return np.zeros(n, dtype=int)
    t = _standardise(timbre)
    feats = np.hstack([t, _standardise(chroma)])
    emb = _delay_embed(feats, 1)
    k_nn = max(3, int(round(2 * np.log2(n))))
    rec = _diagonal_smooth(recurrence(emb, k_nn), size=min(7, max(2, n // 16)))
    path = _path_graph(t)
    d_rec, d_path = rec.sum(axis=1), path.sum(axis=1)
    mu = d_path @ (d_path + d_rec) / (np.sum((d_path + d_rec) ** 2) + 1e-12)
    a = mu * rec + (1 - mu) * path
    deg = a.sum(axis=1) + 1e-10
    dm = 1.0 / np.sqrt(deg)
    lap = np.eye(n) - dm[:, None] * a * dm[None, :]
    evals, evecs = eigh(lap)
    evecs = median_filter(evecs, size=(min(9, n // 4 * 2 + 1), 1), mode="nearest")
    if n_sections is None:
        # eigengap heuristic among 2..max_sections: the number of near-zero eigenvalues ≈ well-separated parts
        top = min(max_sections, n // 4) + 1
        gaps = np.diff(evals[: top + 1])
        n_sections = int(np.argmax(gaps[1:top]) + 2) if top > 2 else 2
    k = max(1, min(n_sections, n // 2))
    if k == 1:
        return np.zeros(n, dtype=int)
    v = np.cumsum(evecs[:, :k] ** 2, axis=1)[:, -1:] ** 0.5
    y = evecs[:, :k] / (v + 1e-10)
    labels = _kmeans(y, k)
    return _renumber(labels)


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Label ids in order of first appearance, so the first section is always 0."""
    order: dict[int, int] = {}
    for x in labels:
        order.setdefault(int(x), len(order))
    return np.array([order[int(x)] for x in labels], dtype=int)


def labels_to_sections(
    labels: np.ndarray, boundaries: np.ndarray, duration: float, min_beats: int = 4
) -> list[Section]:
    """Runs of equal beat labels → sections; runs shorter than `min_beats` join the previous section."""
    if len(labels) == 0:
        return [Section(0.0, duration, 0)]
    runs: list[list[int]] = []  # [label, first beat, end beat]
    for i, lab in enumerate(labels):
        if runs and runs[-1][0] == lab:
            runs[-1][2] = i + 1
        else:
            runs.append([int(lab), i, i + 1])
    merged: list[list[int]] = []
    for run in runs:
        if merged and (run[2] - run[1] < min_beats or merged[-1][0] == run[0]):
            merged[-1][2] = run[2]
        else:
            merged.append(run)
    if len(merged) > 1 and merged[0][2] - merged[0][1] < min_beats:
        merged[1][1] = 0
        merged.pop(0)
    relabel = _renumber(np.array([m[0] for m in merged]))
    out = []
    for j, (_, a, b) in enumerate(merged):
        start = 0.0 if j == 0 else float(boundaries[a])
        end = duration if j == len(merged) - 1 else float(boundaries[b])
        out.append(Section(start, end, int(relabel[j])))
    return out


def segment(
    frame_times: np.ndarray,
    timbre: np.ndarray,
    chroma: np.ndarray,
    beats: np.ndarray,
    duration: float,
    n_sections: int | None = None,
) -> list[Section]:
    """Sections of a track from frame-rate features and beat times (a 0.5 s grid when beats are too few)."""
    grid = np.asarray(beats, dtype=np.float64)
    if len(grid) < 16:
        grid = np.arange(0.0, duration, 0.5)
    bounds = np.concatenate([[0.0], grid[(grid > 0) & (grid < duration)], [duration]])
    bounds = bounds[np.concatenate([[True], np.diff(bounds) > 1e-3])]
    tim = beat_sync(timbre, frame_times, bounds)
    chr_ = beat_sync(chroma, frame_times, bounds)
    labels = laplacian_labels(tim, chr_, n_sections)
    return labels_to_sections(labels, bounds, duration)
