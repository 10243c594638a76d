"""The Attentive GAN generator for raindrop removal (Qian et al., CVPR 2018); the discriminator
is in :mod:`agan.nets.discriminator`.

"Attentive Generative Adversarial Network for Raindrop Removal from a Single
Image". The layer layout follows the paper and its reference code
(rui1996/DeRaindrop, ``models/generator.py`` and ``models/discriminator.py``);
the code here is written afresh.

* :class:`AttentiveGenerator` = an attentive-recurrent network (residual
  blocks + a ConvLSTM, run ``steps`` times, each step refining an attention
  map of the raindrop regions) followed by a contextual autoencoder (a
  U-shaped encoder/decoder with dilated convolutions and skip additions) that
  sees the image and the last attention map and outputs the clean image, plus
  two side outputs at 1/4 and 1/2 scale for the multi-scale loss.
* :class:`AttentiveDiscriminator` = a 5x5 convolution stack whose features are
  multiplied by an internal attention map ``D_map`` (supervised by the
  generator's attention map), then strided convolutions and a head that gives
  the probability that the image is a real clean image.

Image convention: NCHW float32 tensors in [0, 1], RGB (C=3) or grey (C=1).
Both networks run on any H x W (the generator pads to a multiple of 4
internally and crops back; nothing is ever resized).

Output activations (where the reference is the authority):

* attention maps: linear (the reference applies no sigmoid to them; the
  attention loss regresses them onto the 0/1 raindrop mask with an MSE);
* side outputs (1/4, 1/2): ReLU, as in the reference;
* final image: linear, as in the reference, so the training losses see the
  raw value; in eval mode (``model.eval()``) it is clamped to [0, 1].
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agan.nets.layers import check_image, same_conv, same_conv_relu, he_init, pad_to_multiple


# --------------------------------------------------------------------------- #
# Generator
# --------------------------------------------------------------------------- #
class GeneratorOutput(NamedTuple):
    """What :class:`AttentiveGenerator` returns.

    Attributes:
        attention: ``steps`` attention maps, each ``(N, 1, H, W)`` at the input
            size, linear (unbounded; trained towards the 0/1 raindrop mask);
            the last one is the final map.
        quarter: Side output ``(N, C, Hp/4, Wp/4)``, non-negative (ReLU), where
            ``Hp x Wp`` is the input size padded up to multiples of 4 (equal
            to ``H x W`` when those are multiples of 4).
        half: Side output ``(N, C, Hp/2, Wp/2)``, non-negative (ReLU).
        image: The restored image ``(N, C, H, W)``, about [0, 1]; raw (linear)
            in training mode, clamped to [0, 1] in eval mode.
    """

    attention: list[Tensor]
    quarter: Tensor
    half: Tensor
    image: Tensor


class _ResidualBlock(nn.Module):
    """Two 3x3 conv + ReLU, added to the input, then a ReLU (as the reference)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(same_conv_relu(width, width), same_conv_relu(width, width))
        he_init(self.body[0])
        he_init(self.body[1], scale=0.1)  # start near identity (BasicSR's residual-block scale)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + x)


class _UpSample(nn.Module):
    """Transposed conv 4x4 stride 2 (exact doubling), a 2x2 box blur and a ReLU.

    The blur (reflect-pad one pixel at the top/left, 2x2 average pooling with
    stride 1, so the size is kept) follows the reference, which uses it to damp
    the transposed convolution's checkerboard pattern.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1)
        self.blur = nn.Sequential(nn.ReflectionPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1))

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.blur(self.deconv(x)))


class AttentiveRecurrentNetwork(nn.Module):
    """The attentive-recurrent part: ``steps`` refinements of an attention map.

    Each step: concat[image, previous map] -> 3x3 conv + ReLU -> residual
    blocks -> ConvLSTM (gates i, f, o sigmoid and g tanh, each a 3x3 conv over
    concat[features, h]) -> 3x3 conv on h -> map (linear). The first map is
    filled with 0.5; h and c start at zero and are carried across steps.

    Args:
        in_channels: Image channels (3 or 1).
        steps: Number of recurrent steps (maps returned).
        width: Feature and ConvLSTM hidden width.
        res_blocks: Number of residual blocks.
    """

    def __init__(self, in_channels: int = 3, steps: int = 4, width: int = 32, res_blocks: int = 5) -> None:
        super().__init__()
        self.steps = steps
        self.width = width
        self.conv_in = same_conv_relu(in_channels + 1, width)
        self.res_blocks = nn.Sequential(*[_ResidualBlock(width) for _ in range(res_blocks)])
        self.conv_i = same_conv(2 * width, width)
        self.conv_f = same_conv(2 * width, width)
        self.conv_g = same_conv(2 * width, width)
        self.conv_o = same_conv(2 * width, width)
        self.conv_map = same_conv(width, 1)
        he_init(self.conv_in)
        for conv in (self.conv_i, self.conv_f, self.conv_g, self.conv_o, self.conv_map):
            nn.init.xavier_uniform_(conv.weight)  # sigmoid/tanh gates and the linear map
            nn.init.zeros_(conv.bias)

    def _gates(self, features: Tensor, hidden: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The ConvLSTM gates ``(i, f, g, o)`` of ``concat[features, hidden]``: i, f, o sigmoid, g tanh.

        The four gate convolutions run as one (their weights stacked), and the four activations as
        one sigmoid, using tanh(x) = 2 sigmoid(2x) - 1 with g's weights doubled: the same values as
        four convolutions and activations, with fewer passes over full-resolution tensors (which set
        the pace on a CPU). ``hidden`` None stands for the zero state of the first step: only the
        features' half of the weights is used.
        """
        weight = torch.cat([self.conv_i.weight, self.conv_f.weight, 2.0 * self.conv_g.weight, self.conv_o.weight])
        bias = torch.cat([self.conv_i.bias, self.conv_f.bias, 2.0 * self.conv_g.bias, self.conv_o.bias])
        if hidden is None:
            z, weight = features, weight[:, : self.width]
        else:
            z = torch.cat([features, hidden], dim=1)
        # in place: the convolution's output is not needed again (its backward needs z and the weights)
        i, f, g, o = F.conv2d(z, weight, bias, padding=self.conv_i.padding).sigmoid_().chunk(4, dim=1)
        return i, f, 2.0 * g - 1.0, o

    def forward(self, x: Tensor) -> list[Tensor]:
        """Run the recurrence.

        Args:
            x: ``(N, C, H, W)`` image in [0, 1].

        Returns:
            ``steps`` maps, each ``(N, 1, H, W)``, linear.
        """
        n, _, h, w = x.shape
        attention = x.new_full((n, 1, h, w), 0.5)
        hidden = cell = None  # the zero state
        maps = []
        for _ in range(self.steps):
            features = self.res_blocks(self.conv_in(torch.cat([x, attention.to(x.dtype)], dim=1)))
            i, f, g, o = self._gates(features, hidden)
            cell = i * g if cell is None else f * cell + i * g
            hidden = o * torch.tanh(cell)
            attention = self.conv_map(hidden)
            maps.append(attention)
        return maps


class ContextualAutoencoder(nn.Module):
    """The contextual autoencoder: image + attention map -> clean image, with side outputs.

    Encoder: 5x5 conv -> w (skip 1); 3x3 stride 2 -> 2w; 3x3 2w -> 2w (skip 2);
    3x3 stride 2 -> 4w; two 3x3 4w; four dilated 3x3 4w (dilation 2, 4, 8,
    16); two 3x3 4w. Decoder: up to 1/2 (-> 2w) + skip 2; 3x3 2w; up to full
    (-> w) + skip 1; 3x3 w -> w/2; 3x3 -> out. ReLU after every conv except the
    final output (linear). Side outputs: 3x3 conv 4w -> out at 1/4 (after the
    last 4w conv) and 3x3 conv 2w -> out at 1/2 (after the 2w conv that
    follows the first up-sampling), both with ReLU as the reference.

    Args:
        in_channels: Input channels (image channels + 1 for the map).
        out_channels: Output image channels.
        width: ``w`` above (64 in the paper).
    """

    multiple = 4

    def __init__(self, in_channels: int = 4, out_channels: int = 3, width: int = 64) -> None:
        super().__init__()
        w1, w2, w4, wh = width, 2 * width, 4 * width, max(1, width // 2)
        self.conv1 = same_conv_relu(in_channels, w1, kernel=5)
        self.conv2 = same_conv_relu(w1, w2, stride=2)
        self.conv3 = same_conv_relu(w2, w2)
        self.conv4 = same_conv_relu(w2, w4, stride=2)
        self.conv5 = same_conv_relu(w4, w4)
        self.conv6 = same_conv_relu(w4, w4)
        self.dilated = nn.Sequential(*[same_conv_relu(w4, w4, dilation=d) for d in (2, 4, 8, 16)])
        self.conv7 = same_conv_relu(w4, w4)
        self.conv8 = same_conv_relu(w4, w4)
        self.up1 = _UpSample(w4, w2)
        self.conv9 = same_conv_relu(w2, w2)
        self.up2 = _UpSample(w2, w1)
        self.conv10 = same_conv_relu(w1, wh)
        self.out_quarter = same_conv_relu(w4, out_channels)
        self.out_half = same_conv_relu(w2, out_channels)
        self.out_image = same_conv(wh, out_channels)
        he_init(self)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Restore.

        Args:
            x: ``(N, C_in, H, W)`` with H and W multiples of 4.

        Returns:
            ``(quarter (N, C_out, H/4, W/4), half (N, C_out, H/2, W/2),
            image (N, C_out, H, W))``; side outputs >= 0, image linear.
        """
        # The first convolution sees the image and the attention map in fp32 even under bf16 autocast:
        # bf16's rounding of this input cost the shipped GAN 0.1 dB PSNR on rain12 (scripts/check_precision.py).
        with torch.autocast(x.device.type, enabled=False):
            skip1 = self.conv1(x.float())
        skip2 = self.conv3(self.conv2(skip1))
        y = self.conv6(self.conv5(self.conv4(skip2)))
        y = self.conv8(self.conv7(self.dilated(y)))
        quarter = self.out_quarter(y)
        y = self.conv9(self.up1(y) + skip2)
        half = self.out_half(y)
        y = self.up2(y)
        # Without autograd the skip is added into skip1 itself (the same fp32 sums): one full-size
        # fp32 tensor less at the peak of a large tile.
        y = skip1.add_(y) if not torch.is_grad_enabled() else y + skip1
        y = self.conv10(y)
        return quarter, half, self.out_image(y)


class AttentiveGenerator(nn.Module):
    """The Attentive GAN generator: attentive-recurrent network + contextual autoencoder.

    About 6.24 M parameters at the defaults (6,244,362 for RGB).

    Args:
        in_channels: Image channels, 3 (RGB) or 1 (grey); the output has the same.
        steps: Recurrent steps of the attention network (maps returned).
        att_width: Feature / ConvLSTM width of the attention network (32).
        res_blocks: Residual blocks per step in the attention network (5).
        ae_width: Base width ``w`` of the autoencoder (64; it uses w, 2w, 4w).
    """

    multiple = 4

    def __init__(
        self,
        in_channels: int = 3,
        steps: int = 4,
        att_width: int = 32,
        res_blocks: int = 5,
        ae_width: int = 64,
    ) -> None:
        super().__init__()
        if in_channels < 1 or steps < 1 or att_width < 1 or res_blocks < 0 or ae_width < 1:
            raise ValueError(
                f"bad AttentiveGenerator arguments: in_channels={in_channels}, steps={steps}, "
                f"att_width={att_width}, res_blocks={res_blocks}, ae_width={ae_width}"
            )
        self.config = {
            "in_channels": int(in_channels),
            "steps": int(steps),
            "att_width": int(att_width),
            "res_blocks": int(res_blocks),
            "ae_width": int(ae_width),
        }
        self.in_channels = in_channels
        self.steps = steps
        self.attention = AttentiveRecurrentNetwork(in_channels, steps, att_width, res_blocks)
        self.autoencoder = ContextualAutoencoder(in_channels + 1, in_channels, ae_width)

    def forward(self, x: Tensor) -> GeneratorOutput:
        """Remove raindrops.

        The input is padded (bottom/right, reflect or replicate) to multiples
        of 4; ``image`` and the attention maps are cropped back to ``H x W``,
        ``quarter`` and ``half`` stay at 1/4 and 1/2 of the padded size.

        Args:
            x: ``(N, C, H, W)`` float image in [0, 1], any H, W >= 1.

        Returns:
            A :class:`GeneratorOutput`.
        """
        check_image(x, self.in_channels, type(self).__name__)
        h, w = x.shape[-2:]
        xp = pad_to_multiple(x, self.multiple)
        maps = self.attention(xp)
        quarter, half, image = self.autoencoder(torch.cat([xp, maps[-1]], dim=1))
        image = image[..., :h, :w]
        if not self.training:
            image = image.clamp(0.0, 1.0)
        return GeneratorOutput([m[..., :h, :w] for m in maps], quarter, half, image)
