"""Wold's PLS path-modelling algorithm on a batch of data sets at once (numpy only).

Every array has a leading batch axis ``b`` so that one code path fits the sample (b = 1)
and all bootstrap resamples together. Shapes: ``X (b, n, p)`` the centred (and possibly
standardised) items, ``w (b, p)`` outer weights, ``Y (b, n, J)`` latent scores.

The algorithm (Lohmoeller 1989, ch. 2; Tenenhaus et al. 2005, section 2.3):

1. start from unit outer weights; ``Y_j = X_j w_j`` scaled to unit variance;
2. inner estimates ``Z_j = sum_i e_ij Y_i`` over the neighbours i of j, with inner weights
   e_ij = sign(r_ij) (centroid), r_ij (factorial), or (path weighting) the multiple
   regression coefficients of Y_j on its predecessors and r_ij for its successors;
3. outer weights: mode A ``w_j = X_j' Z_j / (n - 1)``; mode B ``w_j = (X_j'X_j)^-1 X_j' Z_j``;
4. rescale so that ``var(X_j w_j) = 1`` (variances with the n - 1 divisor, as R's ``sd``);
5. repeat 2-4 until no weight moves more than ``tol``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvm.errors import ConvergenceError

SCHEMES = ("centroid", "factorial", "path")


@dataclass
class Structure:
    """The model as index arrays: item -> block, block modes, predecessor matrix."""

    block_of: np.ndarray  # (p,) block index of each item
    modes: list[str]  # per block, "A" or "B"
    adjacency: np.ndarray  # (J, J), 1 where i -> j

    @property
    def n_blocks(self) -> int:
        return len(self.modes)

    def members(self) -> np.ndarray:
        """(p, J) one-hot block membership."""
        m = np.zeros((self.block_of.size, self.n_blocks))
        m[np.arange(self.block_of.size), self.block_of] = 1.0
        return m


def _scores(X: np.ndarray, w: np.ndarray, members: np.ndarray) -> np.ndarray:
    return np.einsum("bnp,bpj->bnj", X, w[:, :, None] * members[None])


def _corr(Y: np.ndarray) -> np.ndarray:
    """Correlations of unit-variance, centred columns: Y'Y / (n - 1)."""
    return np.einsum("bni,bnj->bij", Y, Y) / (Y.shape[1] - 1)


def _regress(C: np.ndarray, preds: np.ndarray, j: int) -> np.ndarray:
    """OLS coefficients of column j on columns ``preds`` from a correlation matrix batch."""
    return np.linalg.solve(C[:, preds][:, :, preds], C[:, preds, j][:, :, None])[:, :, 0]


def inner_weights(C: np.ndarray, s: Structure, scheme: str) -> np.ndarray:
    """Inner weights ``E[b, i, j]`` (Z_j = sum_i E_ij Y_i) for one scheme."""
    d = s.adjacency
    neighbours = (d + d.T) > 0
    if scheme == "centroid":
        return np.sign(C) * neighbours
    if scheme == "factorial":
        return C * neighbours
    e = np.zeros_like(C)
    for j in range(s.n_blocks):
        preds = np.flatnonzero(d[:, j])
        succs = np.flatnonzero(d[j, :])
        if preds.size:
            e[:, preds, j] = _regress(C, preds, j)
        if succs.size:
            e[:, succs, j] = C[:, succs, j]
    return e


def fit_weights(X: np.ndarray, s: Structure, scheme: str, tol: float,
                max_iter: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Iterate to the outer weights.

    Returns ``w (b, p)``, the number of iterations and a ``(b,)`` mask of the data sets that
    converged. A single data set (b = 1) that does not converge raises `ConvergenceError`;
    in a batch, the caller decides what to do with the ones that did not.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    b, n, p = X.shape
    members = s.members()
    blocks_b = [np.flatnonzero(s.block_of == j) for j in range(s.n_blocks)
                if s.modes[j] == "B"]
    w = _normalise(X, np.ones((b, p)), members, s)
    change = np.full(b, np.inf)
    for iteration in range(1, max_iter + 1):
        Y = _scores(X, w, members)
        E = inner_weights(_corr(Y), s, scheme)
        Z = np.einsum("bni,bij->bnj", Y, E)
        Zi = Z[:, :, s.block_of]  # (b, n, p): each item's inner estimate
        new = np.einsum("bnp,bnp->bp", X, Zi) / (n - 1)  # mode A
        for idx in blocks_b:
            Xj = X[:, :, idx]
            xtx = np.einsum("bnk,bnl->bkl", Xj, Xj)
            xtz = np.einsum("bnk,bn->bk", Xj, Zi[:, :, idx[0]])
            new[:, idx] = np.linalg.solve(xtx, xtz[:, :, None])[:, :, 0]
        new = _normalise(X, new, members, s)
        change = np.max(np.abs(new - w), axis=1)
        w = new
        if np.all(change < tol):
            return w, iteration, np.ones(b, dtype=bool)
    if b == 1:
        raise ConvergenceError(
            f"PLS outer weights did not converge in {max_iter} iterations (last change "
            f"{change[0]:.2e} > tol {tol:g}). Try: 1. a larger max_iter; 2. the path or "
            "factorial scheme instead of centroid (centroid can oscillate); 3. checking for "
            "items that barely vary or blocks whose items are unrelated.")
    return w, max_iter, change < tol


def _normalise(X: np.ndarray, w: np.ndarray, members: np.ndarray, s: Structure) -> np.ndarray:
    Y = _scores(X, w, members)
    sd = np.sqrt(np.einsum("bnj,bnj->bj", Y, Y) / (X.shape[1] - 1))
    return w / sd[:, s.block_of]


def estimates(X: np.ndarray, w: np.ndarray, s: Structure) -> dict[str, np.ndarray]:
    """Everything computed from converged weights, batched.

    Returns scores ``Y (b, n, J)``, correlations ``C (b, J, J)``, path coefficients
    ``B (b, J, J)`` (B[i, j] the direct effect of i on j by OLS on the standardised scores),
    ``r2 (b, J)`` (0 for exogenous constructs) and ``loadings (b, p)`` (correlation of each item
    with its construct).
    """
    Y = _scores(X, w, s.members())
    C = _corr(Y)
    bsz, n, _ = X.shape
    J = s.n_blocks
    B = np.zeros((bsz, J, J))
    r2 = np.zeros((bsz, J))
    for j in range(J):
        preds = np.flatnonzero(s.adjacency[:, j])
        if preds.size:
            beta = _regress(C, preds, j)
            B[:, preds, j] = beta
            r2[:, j] = np.einsum("bk,bk->b", beta, C[:, preds, j])
    Yi = Y[:, :, s.block_of]
    sx = np.sqrt(np.einsum("bnp,bnp->bp", X, X) / (n - 1))
    loadings = np.einsum("bnp,bnp->bp", X, Yi) / (n - 1) / sx
    return {"Y": Y, "C": C, "B": B, "r2": r2, "loadings": loadings}


def total_effects(B: np.ndarray) -> np.ndarray:
    """Sum of direct and indirect effects, ``(I - B)^-1 - I`` (B acyclic, so nilpotent)."""
    eye = np.eye(B.shape[-1])
    return np.linalg.inv(eye - B) - eye
