"""bench/split-vs-owners.svg from bench/work/split/split.tsv (owners, seconds, peak RSS KB):
build time and peak RSS per owner of split-stack builds. Flat lines = linear totals."""
import math
import pathlib

root = pathlib.Path(__file__).resolve().parents[1]
rows = [l.split("\t") for l in (root / "bench/work/split/split.tsv").read_text().splitlines() if l.strip()]
pts = [(int(n), float(s) * 1000 / int(n), float(kb) / int(n)) for n, s, kb in rows]
W, H, L, R, B = 720, 360, 70, 70, 50
lo, hi = math.log10(min(p[0] for p in pts)), math.log10(max(p[0] for p in pts))
xs = lambda n: L + (W - L - R) * (math.log10(n) - lo) / max(hi - lo, 1e-9)  # noqa: E731
ms_max = max(2.0, max(p[1] for p in pts) * 1.2)
kb_max = max(200.0, max(p[2] for p in pts) * 1.2)
y = lambda v, top: H - B - (H - B - 30) * v / top  # noqa: E731
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W/2}" y="18" text-anchor="middle">nbsynth build, split stacks: cost per owner (flat = linear)</text>']
for n, _, _ in pts:
    svg.append(f'<text x="{xs(n):.1f}" y="{H-B+18}" text-anchor="middle">{n}</text>')
svg.append(f'<text x="{W/2}" y="{H-10}" text-anchor="middle">owners (log scale)</text>')
for i in range(5):
    v = ms_max * i / 4
    svg.append(f'<line x1="{L}" x2="{W-R}" y1="{y(v, ms_max):.1f}" y2="{y(v, ms_max):.1f}" stroke="#eee"/>')
    svg.append(f'<text x="{L-8}" y="{y(v, ms_max)+4:.1f}" text-anchor="end" fill="#1b7837">{v:.2f} ms</text>')
    svg.append(f'<text x="{W-R+8}" y="{y(kb_max * i / 4, kb_max)+4:.1f}" fill="#2166ac">{kb_max * i / 4:.0f} KB</text>')
for idx, (color, top, label) in enumerate([("#1b7837", ms_max, "build time per owner"), ("#2166ac", kb_max, "peak RSS per owner")]):
    d = " ".join(f"{'M' if j == 0 else 'L'}{xs(p[0]):.1f},{y(p[1 + idx], top):.1f}" for j, p in enumerate(pts))
    svg.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
    svg += [f'<circle cx="{xs(p[0]):.1f}" cy="{y(p[1 + idx], top):.1f}" r="3" fill="{color}"/>' for p in pts]
    svg.append(f'<text x="{L+10}" y="{40+16*idx}" fill="{color}">{label}</text>')
svg.append("</svg>")
(root / "bench" / "split-vs-owners.svg").write_text("\n".join(svg) + "\n")
