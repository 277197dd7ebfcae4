"""bench_loop.py's table, figures against whole-image random order, and plot."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

BASELINE = "images-random"


def mean_curve(runs: list[list[dict]]) -> list[dict]:
    """Per round, the mean clicks, mIoU (and its spread) over the seeds."""
    out = []
    for j in range(len(runs[0])):
        m = [r[j]["miou"] for r in runs]
        out.append({"clicks": float(np.mean([r[j]["clicks"] for r in runs])),
                    "miou": float(np.mean(m)), "miou_sd": float(np.std(m)),
                    "train_minutes": float(np.mean([r[j]["train_minutes"] for r in runs]))})
    return out


def clicks_to_reach(curve: list[dict], target: float) -> float | None:
    """Clicks (linearly interpolated) at which ``curve`` first reaches ``target``."""
    prev = None
    for p in curve:
        if p["miou"] >= target:
            if prev is None or p["miou"] == prev["miou"]:
                return p["clicks"]
            f = (target - prev["miou"]) / (p["miou"] - prev["miou"])
            return prev["clicks"] + f * (p["clicks"] - prev["clicks"])
        prev = p
    return None


def miou_at(curve: list[dict], clicks: float) -> float:
    """``curve``'s mIoU at ``clicks`` (linear between rounds, flat outside them)."""
    xs = [p["clicks"] for p in curve]
    ys = [p["miou"] for p in curve]
    return float(np.interp(clicks, xs, ys))


def report(results: dict[str, list[list[dict]]], seeds: list[int], round_clicks: int,
           per_image: float) -> dict:
    """Print the table and the comparisons; the summary for the JSON line."""
    curves = {name: mean_curve(runs) for name, runs in results.items()}
    rounds = len(next(iter(curves.values())))
    print()
    print(f"val mIoU % (mean over seeds {','.join(map(str, seeds))}) after each round; "
          f"clicks in brackets; {round_clicks} clicks a round = "
          f"{round_clicks / per_image:.0f} whole images")
    print(f"{'strategy':26s}" + "".join(f"{'round ' + str(j + 1):>17s}" for j in range(rounds))
          + "   training")
    for name, c in curves.items():
        cells = "".join(f"{p['miou'] * 100:6.1f}±{p['miou_sd'] * 100:3.1f} ({p['clicks']:5.0f})"
                        for p in c)
        print(f"{name:26s}{cells}   {c[-1]['train_minutes']:.1f} min")
    summary: dict[str, dict] = {name: {"curve": c} for name, c in curves.items()}
    base = curves.get(BASELINE)
    if base is None:
        return summary
    target, base_clicks = base[-1]["miou"], base[-1]["clicks"]
    print(f"\nagainst {BASELINE}'s final {target * 100:.1f} % mIoU after {base_clicks:.0f} "
          "clicks:")
    for name, c in curves.items():
        need = clicks_to_reach(c, target)
        share = None if need is None else need / base_clicks
        ahead = all(p["miou"] > miou_at(base, p["clicks"]) for p in c) if name != BASELINE \
            else None
        summary[name].update(clicks_to_reach_images_random=need, share_of_its_clicks=share,
                             ahead_at_equal_clicks_every_round=ahead)
        said = "does not reach it within the rounds" if need is None else \
            f"reaches it after {need:.0f} clicks ({share * 100:.0f} % of its clicks)"
        extra = "" if ahead is None else \
            f"; ahead at equal clicks in every round: {'yes' if ahead else 'no'}"
        print(f"  {name:26s} {said}{extra}")
    return summary


def plot(results: dict[str, list[list[dict]]], path: Path) -> None:
    """val mIoU against clicks, one line per strategy (mean over seeds)."""
    curves = {name: mean_curve(runs) for name, runs in results.items()}
    w, h, m = 860, 480, 64
    img = np.full((h, w, 3), 255, np.uint8)
    xs = [p["clicks"] for c in curves.values() for p in c]
    ys = [p["miou"] for c in curves.values() for p in c]
    x1, y1 = max(xs) * 1.05, max(0.05, max(ys) * 1.1)

    def px(x: float, y: float) -> tuple[int, int]:
        return int(m + x / x1 * (w - 2 * m - 180)), int(h - m - y / y1 * (h - 2 * m))

    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.rectangle(img, px(0, 0), px(x1, y1), (0, 0, 0), 1)
    for t in np.linspace(0, y1, 6):
        p = px(0, t)
        cv2.putText(img, f"{t * 100:.0f}", (m - 34, p[1] + 4), font, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    for t in np.linspace(0, x1, 6):
        p = px(t, 0)
        cv2.putText(img, f"{t:.0f}", (p[0] - 14, h - m + 18), font, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    cv2.putText(img, "val mIoU (%) against clicks (one superpixel each)", (m, 30), font, 0.55,
                (0, 0, 0), 1, cv2.LINE_AA)
    colours = [(200, 60, 60), (230, 140, 40), (60, 140, 60), (60, 60, 200), (150, 0, 150),
               (0, 150, 170)]
    for i, (name, c) in enumerate(curves.items()):
        col = colours[i % len(colours)]
        pts = [px(p["clicks"], p["miou"]) for p in c]
        for a, b in zip(pts, pts[1:], strict=False):
            cv2.line(img, a, b, col, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, col, -1)
        cv2.putText(img, name, (w - m - 170, m + 20 + 18 * i), font, 0.45, col, 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img[:, :, ::-1])
