"""`make demo` / `python -m sgn_teach demo`: the whole method in a few minutes on a CPU.

1. make the course data (FluidSynth rendition of MUSIC-11, or the procedural
   synthesizer where FluidSynth is missing) — the same command and seed the
   shipped checkpoints were trained with, so the test split is held out;
2. load the shipped `small` SGN and SoP checkpoints (or retrain them with their recipe on
   the variety library, --train);
3. evaluate both on the same held-out 2-source mixtures with the mixture,
   oracle and NMF rows, print the table;
4. score them as a user meets them (sgn_teach.evaluation.user_view): labels given or
   named by the model, 2 and 3 sources, SoP's slots named by the shipped classifier;
5. write separated wavs and a figure for a few mixtures to OUT.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.atomic import atomic_path, write_json
from ..core.device import get_device
from ..data import MixDataset, SoloLibrary, mix_features, render_library, synth_library
from ..evaluation.evaluate import evaluate, format_per_class, format_table, model_masks, paired_differences
from ..hub.build import load_checkpoint
from ..hub.shipped import shipped_checkpoint
from ..signal.audio import save_audio
from ..signal.metrics import best_slots
from ..signal.spectral import SpectralFrontEnd

DATA_CLIPS_PER_CLASS = 60   # the shipped checkpoints' training library: `data render --clips-per-class 60 --seed 0`
DATA_SEED = 0
SHIPPED = {"sgn": "sgn_small", "sop": "sop_small"}   # names for shipped_checkpoint()


def _complete(root: Path) -> bool:
    """Whether a library made by this demo is in `root` already (its `.complete` marker), saying so."""
    marker = root / ".complete"
    if marker.exists():
        print(f"data: reusing {root} ({marker.read_text().strip()})")
    return marker.exists()


def _mark_complete(root: Path, what: str) -> None:
    """Mark the library in `root` as made (what `_complete` reads): written last, so a stopped render is redone."""
    (root / ".complete").write_text(what + "\n")


def make_course_data(root: Path, clips_per_class: int = DATA_CLIPS_PER_CLASS, seed: int = DATA_SEED) -> Path:
    """Render (or synthesize) the MUSIC-11 library into `root`, reusing it if it is already there."""
    from ..course import renderer_problem

    if _complete(root):
        return root
    problem = renderer_problem()
    if problem is None:
        print(f"data: rendering MUSIC-11 with FluidSynth into {root} ({clips_per_class} clips per class)…")
        render_library(root, clips_per_class=clips_per_class, seed=seed)
        kind = "rendered"
    else:
        print(f"data: {problem}\n"
              "      Using the procedural synthesizer instead. (The shipped checkpoints were trained on rendered\n"
              "      instruments, so expect lower numbers.)")
        synth_library(root, clips_per_class=clips_per_class, seed=seed)
        kind = "synthesized"
    _mark_complete(root, f"{kind}, {clips_per_class} clips per class, seed {seed}")
    return root


def make_training_data(root: Path, course_root: Path, clips_per_class: int = DATA_CLIPS_PER_CLASS,
                       seed: int = DATA_SEED) -> Path:
    """The shipped models' training library (`data render --variety`) in `root`, reused if there; without
    FluidSynth, the course library itself (`course_root`, synthesized), with a message."""
    from ..course import renderer_problem

    if _complete(root):
        return root
    problem = renderer_problem()
    if problem is not None:
        print(f"data: {problem}\n      The shipped models trained on the variety library (rendered); training on "
              f"{course_root} (synthesized) instead.")
        return course_root
    from ..data.variety import render_variety_library

    print(f"data: rendering the variety library (every GM voice of each instrument + the synthesizer) into {root}…")
    render_variety_library(root, clips_per_class=clips_per_class, seed=seed)
    _mark_complete(root, f"variety, {clips_per_class} clips per class, seed {seed}")
    return root


def _user_view(models: dict, test: SoloLibrary, cfg, n_mixtures: int, dev: torch.device) -> dict:
    """The four settings of `evaluate --user-view` for SGN and SoP (+ the shipped classifier), printed."""
    from ..evaluation.user_view import format_user_view, user_view, user_view_legend

    classifier = load_checkpoint(shipped_checkpoint("classifier_small"), device=dev)[0]
    print(f"\nevaluate as a user meets it: {n_mixtures} mixtures per setting (seed 0), the classes given or named "
          "by the model (SGN: its presence head; SoP: the shipped classifier on its slots)…")
    views = user_view({"SGN": models["sgn"], "SoP": models["sop"]}, test, cfg.audio, classifiers={"SoP": classifier},
                      n_mixtures=n_mixtures, seed=0, device=dev)
    print(format_user_view(views, ["SGN", "SoP"]))
    print(user_view_legend())
    return views


def run_demo(out: str | Path = "outputs/demo", train: bool = False, n_mixtures: int = 100, device: str = "auto",
             n_examples: int = 3, clips_per_class: int | None = None) -> dict:
    """Run the demo into `out`; `clips_per_class` (default :data:`DATA_CLIPS_PER_CLASS`) shrinks the
    library for a quick check — with fewer clips the test split is not the shipped models' held-out one."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dev = get_device(device, verbose=True)
    data_root = make_course_data(out / "data", clips_per_class=clips_per_class or DATA_CLIPS_PER_CLASS)
    models, cfg, classes = {}, None, None
    for name, shipped_name in SHIPPED.items():
        ckpt = None if train else shipped_checkpoint(shipped_name)
        if ckpt is None:
            from ..core.config import SHIPPED_STAGES, shipped_stage_configs
            from .runner import staged_run

            train_root = make_training_data(out / "data_variety", data_root,
                                            clips_per_class=clips_per_class or DATA_CLIPS_PER_CLASS)
            stages = " then ".join(str(s) for s in SHIPPED_STAGES[name])
            print(f"train: {name} with the shipped models' recipe (small preset, mixtures of 1-3 sources, "
                  f"{stages} steps: an hour or more on a CPU)…")
            ckpt = staged_run(shipped_stage_configs(name), train_root, out / "runs" / name, device=str(dev))
        model, cfg_m, classes_m, step, _ = load_checkpoint(ckpt, device=dev)
        print(f"model: {name} from {ckpt} (step {step})")
        models[name] = model
        cfg, classes = cfg_m, classes_m
    test = SoloLibrary(data_root, split="test", classes=classes)
    print(f"evaluate: {n_mixtures} held-out 2-source mixtures from {len(test)} test clips…")
    report = evaluate(models, test, cfg.audio, n_sources=2, n_mixtures=n_mixtures, seed=0, device=dev,
                      nmf_library=SoloLibrary(data_root, split="train", classes=classes))
    print()
    print(format_table(report))
    print()
    report["differences"] = paired_differences(report, n_sources=2)
    for line in report["differences"]["lines"]:
        print(line)
    print()
    print(format_per_class(report))
    report["user_view"] = _user_view(models, test, cfg, n_mixtures, dev)
    write_json(out / "report.json", report)

    # a few mixtures to listen to, and a figure
    fe = SpectralFrontEnd(cfg.audio).to(dev)
    ds = MixDataset(test, cfg.audio, n_sources=2, n_mixtures=n_examples, seed=0)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=n_examples)))
    feats = mix_features(batch["mixture"].to(dev), batch["sources"].to(dev), fe)
    class_idx = batch["class_idx"].to(dev)
    masks = {name: model_masks(m, feats, class_idx)[0] for name, m in models.items()}  # each (B, N, F, T)
    waves = {name: fe.apply_masks(mk, feats["stft"]).cpu() for name, mk in masks.items()}  # each (B, K, L)
    ref_np = batch["sources"].double().numpy()                                            # (B, N, L)
    for name, m in models.items():  # SoP's slots have no class: put the best-matching slot under each reference's name
        if not m.class_conditioned:
            w = waves[name]
            waves[name] = torch.stack([w[b, best_slots(ref_np[b], w[b].double().numpy())] for b in range(len(w))])
    masks_sgn = masks["sgn"].cpu()
    sr = cfg.audio.sample_rate
    for b in range(n_examples):
        names = [classes[c] for c in batch["class_idx"][b].tolist()]
        d = out / f"mixture_{b + 1}_{'+'.join(names)}"
        save_audio(d / "mixture.wav", batch["mixture"][b], sr)
        for n, cname in enumerate(names):
            save_audio(d / f"{cname}_reference.wav", batch["sources"][b, n], sr)
            for mname, w in waves.items():
                save_audio(d / f"{cname}_{mname}.wav", w[b, n], sr)
    import matplotlib.pyplot as plt

    from ..viz.plots import show_spectrogram

    names = [classes[c] for c in batch["class_idx"][0].tolist()]
    mix_w = feats["mag_warped"][0, 0].cpu()
    ref = float(mix_w.max())                       # one dB scale: 0 dB = the mixture's loudest bin
    fig, axes = plt.subplots(2, 3, figsize=(12, 6))
    timing = {"sample_rate": sr, "hop_length": cfg.audio.hop_length, "warped": True, "colorbar": True}
    show_spectrogram(axes[0, 0], mix_w, "mixture (dB)", ref=ref, vmin=-80, vmax=0, **timing)
    axes[1, 0].axis("off")
    for n, name in enumerate(names):
        show_spectrogram(axes[0, n + 1], feats["source_mag_warped"][0, n].cpu(), f"reference: {name} (dB)",
                         ref=ref, vmin=-80, vmax=0, **timing)
        show_spectrogram(axes[1, n + 1], masks_sgn[0, n], f"SGN mask: {name}", db_scale=False, vmin=0, vmax=1,
                         cmap="viridis", **timing)
    fig.tight_layout()
    with atomic_path(out / "demo.png") as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    plt.close(fig)
    print(f"\nwrote {out}/report.json, {out}/demo.png and {n_examples} folders of wavs (mixture, references, "
          f"{', '.join(models)} estimates)")
    return report
