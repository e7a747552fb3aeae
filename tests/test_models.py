"""Models: shapes of every variant and preset, the U-Net against SoP's original,
grouping invariants (A sums to 1, class-permutation equivariance, hard
assignment), and small training runs (class-constraint CE, overfitting a batch).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sgn_teach.core.config import MODEL_VARIANTS, get_preset
from sgn_teach.hub.build import build_model
from sgn_teach.losses import class_constraint_ce, sgn_loss, sop_weight
from sgn_teach.models import (
    SGN,
    CategoryAwareGrouping,
    ClassQueryAttention,
    ClassTokenTransformer,
    PatchEmbedding,
    PresenceHead,
    SoPModel,
    UNet,
    count_parameters,
    predicted_classes,
    select_masks,
)

SGN_ONLY = ("sgn", "sct", "cag", "baseline", "attn")

# Parameter counts of the `paper` preset (C=11, D=256, depth 6, U-Net 7 levels ngf 64,
# SoP with N=2 outputs): they pin the architecture; a change here is a change of model.
PAPER_PARAMS = {
    "sgn": 35_671_953,
    "sct": 35_408_785,
    "cag": 35_669_126,
    "baseline": 30_535_299,
    "attn": 35_671_953,  # the control: exactly SGN's parameters (issue 23), only the softmax's axis differs
    "sop": 30_239_620,
}


def _model(preset: str, variant: str, **overrides) -> tuple[nn.Module, tuple[int, int]]:
    cfg = get_preset(preset, variant=variant, **overrides)
    return build_model(cfg.model, cfg.audio), (cfg.audio.n_freq_warped, cfg.audio.n_frames)


# --------------------------------------------------------------------------- U-Net

class _SoPUnetBlock(nn.Module):
    """SoP's recursive UnetBlock (models/audio_net.py), kept as the reference."""

    def __init__(self, outer_nc, inner_input_nc, input_nc=None, submodule=None, outermost=False, innermost=False):
        super().__init__()
        self.outermost, self.innermost, self.submodule = outermost, innermost, submodule
        input_nc = outer_nc if input_nc is None else input_nc
        inner_output_nc = inner_input_nc if innermost else 2 * inner_input_nc
        self.downconv = nn.Conv2d(input_nc, inner_input_nc, 4, stride=2, padding=1, bias=False)
        self.downnorm = nn.BatchNorm2d(inner_input_nc) if not (outermost or innermost) else None
        self.upconv = nn.Conv2d(inner_output_nc, outer_nc, 3, padding=1, bias=outermost)
        self.upnorm = nn.BatchNorm2d(outer_nc) if not outermost else None

    def forward(self, x):
        h = x if self.outermost else F.leaky_relu(x, 0.2)
        h = self.downconv(h)
        if self.downnorm is not None:
            h = self.downnorm(h)
        if self.submodule is not None:
            h = self.submodule(h)
        h = F.interpolate(F.relu(h), scale_factor=2, mode="bilinear", align_corners=True)
        h = self.upconv(h)
        if self.upnorm is not None:
            h = self.upnorm(h)
        return h if self.outermost else torch.cat([x, h], 1)


def _sop_unet(fc_dim: int, num_downs: int, ngf: int) -> tuple[nn.BatchNorm2d, list[_SoPUnetBlock]]:
    block = _SoPUnetBlock(ngf * 8, ngf * 8, innermost=True)
    blocks = [block]
    for _ in range(num_downs - 5):
        block = _SoPUnetBlock(ngf * 8, ngf * 8, submodule=block)
        blocks.append(block)
    for outer, inner in ((ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)):
        block = _SoPUnetBlock(outer, inner, submodule=block)
        blocks.append(block)
    blocks.append(_SoPUnetBlock(fc_dim, ngf, input_nc=1, submodule=block, outermost=True))
    return nn.BatchNorm2d(1), blocks[::-1]  # outermost first


def test_unet_matches_sop_reference():
    torch.manual_seed(0)
    levels, ngf, out = 6, 4, 8
    bn0, ref_blocks = _sop_unet(out, levels, ngf)
    net = UNet(1, out, ngf=ngf, levels=levels)
    assert count_parameters(net) == sum(p.numel() for b in [bn0, ref_blocks[0]] for p in b.parameters())
    # copy the reference's weights into ours, level by level
    with torch.no_grad():
        net.input_norm.load_state_dict(bn0.state_dict())
        for k, ref in enumerate(ref_blocks):
            convs = [m for m in net.down[k] if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
            convs += [m for m in net.up[k] if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
            refs = [m for m in (ref.downconv, ref.downnorm, ref.upconv, ref.upnorm) if m is not None]
            assert len(convs) == len(refs)
            for mine, theirs in zip(convs, refs):
                mine.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 1, 64, 128)
    torch.testing.assert_close(net(x), ref_blocks[0](bn0(x)))


def test_unet_shapes_and_trace():
    net = UNet(1, 16, ngf=4, levels=3)
    assert net(torch.randn(2, 1, 32, 48)).shape == (2, 16, 32, 48)
    trace = dict(net.shape_trace(torch.randn(1, 1, 32, 48)))
    assert trace["down_0"] == (1, 4, 16, 24)
    assert trace["down_2"] == (1, 16, 4, 6)  # min(ngf·2^k, ngf·8) = 16
    assert trace["skip_1"] == (1, 16, 8, 12)
    assert trace["up_0"] == (1, 16, 32, 48)
    assert "down_1" in net.describe(torch.randn(1, 1, 32, 48))


def test_unet_paper_widths():
    net = UNet(1, 256, ngf=64, levels=7)
    down_convs = [next(m for m in block if isinstance(m, nn.Conv2d)) for block in net.down]
    assert [conv.out_channels for conv in down_convs] == [64, 128, 256, 512, 512, 512, 512]


def test_unet_rejects_bad_grid():
    net = UNet(1, 8, ngf=4, levels=3)
    with pytest.raises(ValueError, match="divisible by 8"):
        net(torch.randn(1, 1, 36, 32))
    cfg = get_preset("tiny", audio__n_freq_warped=60)
    with pytest.raises(ValueError, match="divisible"):
        build_model(cfg.model, cfg.audio)


# --------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("preset", ["tiny", "small"])
@pytest.mark.parametrize("variant", MODEL_VARIANTS)
def test_variant_shapes(preset, variant):
    torch.manual_seed(0)
    model, (F_, T) = _model(preset, variant)
    cfg = model.cfg
    B, C, D = 2, cfg.n_classes, cfg.dim
    out = model(torch.randn(B, 1, F_, T))
    if variant == "sop":
        assert isinstance(model, SoPModel) and not model.class_conditioned
        assert out["mask_logits"].shape == (B, cfg.n_sources, F_, T)
        return
    assert isinstance(model, SGN) and model.class_conditioned
    P = (F_ // cfg.patch_size) * (T // cfg.patch_size)
    assert out["mask_logits"].shape == (B, C, F_, T)
    assert out["class_features"].shape == (B, C, D)
    assert (out["token_logits"] is not None) == (variant in ("sct", "sgn", "attn"))
    assert (out["assign"] is not None) == (variant in ("cag", "sgn", "attn"))
    assert (out["presence_logits"] is not None) == (variant != "baseline")
    if out["token_logits"] is not None:
        assert out["token_logits"].shape == (B, C, C)
    if out["assign"] is not None:
        assert out["assign"].shape == (B, P, C)
    if out["presence_logits"] is not None:
        assert out["presence_logits"].shape == (B, C)
    loss, _ = sgn_loss(out, torch.rand(B, 2, F_, T).round(), torch.ones(B, 1, F_, T),
                       torch.tensor([[0, 1], [2, 3]]), None, variant)
    loss.backward()  # every variant trains end to end


def test_hard_assign_variant():
    torch.manual_seed(0)
    model, (F_, T) = _model("tiny", "sgn", model__assign="hard")
    A = model(torch.randn(2, 1, F_, T))["assign"]
    torch.testing.assert_close(A, F.one_hot(A.argmax(-1), A.shape[-1]).float())


def test_variant_components():
    """Ablations have exactly the parts of the variant table in sgn_teach/models/sgn.py."""
    parts = {v: _model("tiny", v)[0] for v in SGN_ONLY}
    assert parts["baseline"].transformer is None and parts["baseline"].class_embed is not None
    assert parts["sct"].grouping is None and parts["sct"].transformer.class_tokens is not None
    assert parts["cag"].transformer.class_tokens is None and parts["cag"].class_queries is not None
    assert parts["sgn"].grouping is not None and parts["sgn"].transformer.token_head is not None
    assert isinstance(parts["attn"].grouping, ClassQueryAttention) and parts["attn"].transformer.class_tokens is not None
    assert type(parts["sgn"].grouping) is CategoryAwareGrouping


def test_the_control_attends_over_patches_where_grouping_competes_over_classes():
    """`attn` (issue 23's control) shares every weight with the grouping; only the softmax's axis differs."""
    torch.manual_seed(0)
    grouping = CategoryAwareGrouping(16)
    control = ClassQueryAttention(16)
    control.load_state_dict(grouping.state_dict())  # the same parameters, one for one
    f_hat, c_hat = torch.randn(2, 10, 16), torch.randn(2, 4, 16)
    _, A_group = grouping(f_hat, c_hat)
    g, A_attn = control(f_hat, c_hat)
    torch.testing.assert_close(A_group.sum(-1), torch.ones(2, 10))  # each patch shared out among the classes
    torch.testing.assert_close(A_attn.sum(1), torch.ones(2, 4))  # each class reads a mean over the patches
    logits = grouping.assignment_logits(f_hat, c_hat)
    torch.testing.assert_close(A_attn, torch.softmax(logits, dim=1))
    expected = c_hat + control.to_out(torch.einsum("bpc,bpd->bcd", A_attn, control.to_v(f_hat)))
    torch.testing.assert_close(g, expected)


def test_paper_preset_parameter_counts():
    counts = {v: count_parameters(_model("paper", v)[0]) for v in MODEL_VARIANTS}
    print("paper preset parameters:", counts)
    assert counts == PAPER_PARAMS


def test_paper_preset_forward_batch1():
    torch.manual_seed(0)
    model, (F_, T) = _model("paper", "sgn")
    assert (F_, T) == (256, 256)
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 1, F_, T))
    assert out["mask_logits"].shape == (1, 11, 256, 256)
    assert out["assign"].shape == (1, 256, 11)


# --------------------------------------------------------------------------- tokens and grouping

def test_patch_embedding_and_transformer_shapes():
    embed = PatchEmbedding(32, 16, (64, 32))
    patches = embed(torch.randn(3, 1, 64, 32))
    assert patches.shape == (3, 8, 32)
    f_hat, c_hat = ClassTokenTransformer(32, 1, 2, n_classes=5, n_patches=8)(patches)
    assert f_hat.shape == (3, 8, 32) and c_hat.shape == (3, 5, 32)
    f_hat, c_hat = ClassTokenTransformer(32, 1, 2, n_classes=0)(patches)
    assert f_hat.shape == (3, 8, 32) and c_hat is None
    with pytest.raises(ValueError):
        PatchEmbedding(32, 16, (60, 32))


def test_assignment_sums_to_one():
    torch.manual_seed(0)
    model, (F_, T) = _model("tiny", "sgn")
    A = model(torch.randn(2, 1, F_, T))["assign"]
    torch.testing.assert_close(A.sum(dim=-1), torch.ones(A.shape[:2]))
    grouping = CategoryAwareGrouping(16)
    _, A = grouping(torch.randn(2, 10, 16), torch.randn(2, 4, 16))
    torch.testing.assert_close(A.sum(dim=-1), torch.ones(2, 10))
    assert (A >= 0).all()


def test_grouping_and_mask_head_are_class_equivariant():
    """Permuting the class tokens' rows permutes g, A's columns, presence and masks the same way."""
    torch.manual_seed(0)
    D, P, C = 16, 12, 5
    grouping, presence = CategoryAwareGrouping(D), PresenceHead(D)
    f_hat, c_hat, U = torch.randn(2, P, D), torch.randn(2, C, D), torch.randn(2, D, 8, 8)
    perm = torch.tensor([3, 0, 4, 1, 2])
    g, A = grouping(f_hat, c_hat)
    g_p, A_p = grouping(f_hat, c_hat[:, perm])
    torch.testing.assert_close(g_p, g[:, perm])
    torch.testing.assert_close(A_p, A[:, :, perm])
    torch.testing.assert_close(presence(g_p), presence(g)[:, perm])
    masks = torch.einsum("bcd,bdft->bcft", g, U)
    torch.testing.assert_close(torch.einsum("bcd,bdft->bcft", g_p, U), masks[:, perm])


def test_sgn_is_class_equivariant():
    """Whole model: permute class_tokens and token_head's rows → every per-class output permutes."""
    torch.manual_seed(0)
    model, (F_, T) = _model("tiny", "sgn")
    model.eval()
    x = torch.randn(2, 1, F_, T)
    perm = torch.randperm(model.cfg.n_classes)
    with torch.no_grad():
        out = model(x)
        tr = model.transformer
        tr.class_tokens.copy_(tr.class_tokens[perm])
        tr.token_head.weight.copy_(tr.token_head.weight[perm])
        tr.token_head.bias.copy_(tr.token_head.bias[perm])
        out_p = model(x)
    for key in ("mask_logits", "presence_logits", "class_features"):
        torch.testing.assert_close(out_p[key], out[key][:, perm], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out_p["assign"], out["assign"][:, :, perm], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out_p["token_logits"], out["token_logits"][:, perm][:, :, perm], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("training", [True, False])
def test_hard_assignment_is_one_hot_with_gradients(training):
    torch.manual_seed(0)
    grouping = CategoryAwareGrouping(16, assign="hard", tau=1.0).train(training)
    f_hat, c_hat = torch.randn(2, 20, 16), torch.randn(2, 4, 16)
    g, A = grouping(f_hat, c_hat)
    one_hot = F.one_hot(A.argmax(-1), A.shape[-1]).float()
    torch.testing.assert_close(A, one_hot)  # straight-through: one-hot values (up to rounding)
    (g * torch.randn_like(g)).sum().backward()
    assert grouping.to_q.weight.grad.abs().sum() > 0
    assert grouping.to_k.weight.grad.abs().sum() > 0


def test_an_empty_class_gets_a_bounded_gradient_under_hard_assignment():
    """Issue 23: dividing by mass + 1e-6 passed a ×10⁶ straight-through gradient to a class no patch chose
    (measured here: 5.7e5 at W_q). Floored at one patch, the grouped feature is 0 and the gradient stays O(1)."""
    torch.manual_seed(0)
    grouping = CategoryAwareGrouping(16, assign="hard").eval()
    f_hat = torch.randn(1, 1, 16) + 0.01 * torch.randn(1, 20, 16)  # 20 similar patches
    c_hat = torch.randn(1, 4, 16)
    with torch.no_grad():  # choose ĉ_3 so that W_k ĉ_3 + b_k points against the patches' queries: no patch picks it
        q_mean = grouping.to_q(f_hat).mean(1)[0]
        target_k = -4 * q_mean / q_mean.norm() ** 2
        c_hat[0, 3] = torch.linalg.solve(grouping.to_k.weight, target_k - grouping.to_k.bias)
    g, A = grouping(f_hat, c_hat)
    assert A[0, :, 3].sum() == 0  # no patch chose class 3
    assert torch.allclose(g[0, 3], c_hat[0, 3] + grouping.to_out.bias, atol=1e-5)  # an empty group adds W_o·0
    g[:, 3].sum().backward()
    assert grouping.to_q.weight.grad.abs().max() < 10


def test_class_constraint_loss_trains_to_zero():
    torch.manual_seed(0)
    transformer = ClassTokenTransformer(32, depth=1, heads=2, n_classes=11, n_patches=16)
    opt = torch.optim.Adam(transformer.parameters(), lr=1e-3)
    for _ in range(300):
        _, c_hat = transformer(torch.randn(4, 16, 32))
        loss = class_constraint_ce(transformer.token_logits(c_hat))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


# --------------------------------------------------------------------------- training

def _fixed_batch(B: int, F_: int, T: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A smooth random log-magnitude and two complementary masks that are a function of it."""
    log_mag = 2 * F.interpolate(torch.randn(B, 1, 8, 8), size=(F_, T), mode="bilinear", align_corners=True)
    loud = (log_mag > 0).float()  # (B, 1, F, T)
    target = torch.cat([loud, 1 - loud], dim=1)  # (B, 2, F, T)
    weight = sop_weight(log_mag.exp())
    class_idx = torch.tensor([[0, 3], [5, 1], [2, 7], [10, 4]])[:B]
    return log_mag, target, weight, class_idx


@pytest.mark.parametrize("variant", ["sgn", "sop"])
def test_tiny_model_overfits_one_batch(variant):
    torch.manual_seed(0)
    model, (F_, T) = _model("tiny", variant)
    log_mag, target, weight, class_idx = _fixed_batch(4, F_, T)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    history = []
    for _ in range(120):
        loss, parts = sgn_loss(model(log_mag), target, weight, class_idx, None, variant)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(parts)
    first, last = history[0], history[-1]
    assert last["total"] < 0.1 * first["total"]
    assert last["rec"] < 0.1 * first["rec"]


# --------------------------------------------------------------------------- helpers

def test_select_masks_gathers_channels():
    logits = torch.arange(2 * 5, dtype=torch.float).reshape(2, 5, 1, 1).expand(2, 5, 3, 4)
    out = select_masks(logits, torch.tensor([[4, 1], [0, 2]]))
    assert out.shape == (2, 2, 3, 4)
    assert out[:, :, 0, 0].tolist() == [[4.0, 1.0], [5.0, 7.0]]


def test_predicted_classes():
    logits = torch.tensor([[3.0, -2.0, 1.0, -1.0], [-3.0, -2.0, -1.0, -4.0]])
    above = predicted_classes(logits)
    assert [a.tolist() for a in above] == [[0, 2], [2]]  # at least one per sample
    assert predicted_classes(logits, n=2).tolist() == [[0, 2], [1, 2]]
    assert predicted_classes(logits, threshold=0.9)[0].tolist() == [0]


@pytest.mark.parametrize("variant", ["sgn", "baseline"])
def test_fused_light_reconstruction_equals_the_explicit_inner_product(variant):
    """Folding g into U's last conv gives ⟨g_i, U⟩/√D + b exactly (float rounding aside), for all or some classes."""
    torch.manual_seed(0)
    fused, grid = _model("tiny", variant)
    explicit, _ = _model("tiny", variant, model__fused_reconstruction=False)
    explicit.load_state_dict(fused.state_dict())
    fused.eval(), explicit.eval()
    x = torch.randn(3, 1, *grid)
    a, b = fused(x)["mask_logits"], explicit(x)["mask_logits"]
    assert a.shape == b.shape == (3, 11, *grid)
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    U = explicit.unet(x)  # (B, D, F, T)
    g = explicit.class_features(x)["class_features"]  # (B, C, D)
    manual = torch.einsum("bcd,bdft->bcft", g, U) / g.shape[-1] ** 0.5 + explicit.mask_bias
    assert torch.allclose(b, manual, atol=1e-5)
    classes = torch.tensor([[3, 7], [0, 10], [5, 5]])
    some = fused(x, classes=classes)
    assert some["mask_logits"].shape == (3, 2, *grid) and torch.equal(some["mask_classes"], classes)
    assert torch.allclose(some["mask_logits"], select_masks(a, classes), atol=1e-5)


def test_fused_reconstruction_gradients_match():
    torch.manual_seed(1)
    fused, grid = _model("tiny", "sgn")
    explicit, _ = _model("tiny", "sgn", model__fused_reconstruction=False)
    explicit.load_state_dict(fused.state_dict())
    x = torch.randn(2, 1, *grid)
    classes = torch.tensor([[1, 4], [2, 9]])
    for m in (fused, explicit):
        m.train()
        m.zero_grad()
        m(x, classes=classes)["mask_logits"].square().mean().backward()
    for (name, p), q in zip(fused.named_parameters(), explicit.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            assert torch.allclose(p.grad, q.grad, atol=1e-5, rtol=1e-3), name


def test_logit_scale_brings_sgn_logits_to_sops_scale():
    """At initialisation the unscaled ⟨g, U⟩ is ≈√D too large; the 1/√D scale fixes it (issue: slow first steps)."""
    torch.manual_seed(0)
    x = torch.randn(4, 1, 128, 128)
    scaled, _ = _model("small", "sgn")
    unscaled, _ = _model("small", "sgn", model__logit_scale=False)
    unscaled.load_state_dict(scaled.state_dict())
    stds = {}
    for name, m in (("scaled", scaled), ("unscaled", unscaled)):
        m.eval()
        with torch.no_grad():
            stds[name] = (m(x)["mask_logits"] - m.mask_bias).std().item()
    assert stds["unscaled"] / stds["scaled"] == pytest.approx(64 ** 0.5, rel=1e-3)

