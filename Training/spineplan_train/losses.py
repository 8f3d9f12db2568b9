"""The training loss shared by named classes (phantoms, vb3-) and SPIDER's groups."""
import numpy as np
import torch
import torch.nn.functional as F

from .data import IGNORE


def ce_and_soft_dice(logp, target, weights=None):
    """Weighted NLL + soft Dice over the classes present, from log-probabilities [B, C, D, H, W]; IGNORE is skipped."""
    n = logp.shape[1]
    ce = F.nll_loss(logp, target, weight=weights, ignore_index=IGNORE)
    valid = (target != IGNORE)
    prob = logp.exp()
    t = torch.where(valid, target, torch.zeros_like(target))
    onehot = F.one_hot(t, n).permute(0, 4, 1, 2, 3).float()
    v = valid[:, None].float()
    dims = (0, 2, 3, 4)
    inter = (prob * onehot * v).sum(dims)
    denom = (prob * v).sum(dims) + (onehot * v).sum(dims)
    present = (onehot * v).sum(dims) > 0
    dice = (2 * inter + 1) / (denom + 1)
    dice_loss = 1 - dice[present].mean()
    return ce + dice_loss, ce.item(), dice_loss.item()


def priors(counts):
    """Class frequencies with add-one smoothing."""
    return (counts + 1) / (counts + 1).sum()


def frequency_weights(p):
    """√ of inverse frequency relative to background, 1…10: rare classes (a disc is ~0.1 % of the grid) weigh more."""
    return torch.tensor(np.clip(np.sqrt(p[0] / p), 1, 10), dtype=torch.float32)
