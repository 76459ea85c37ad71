"""`train:` for `task: cluster`: the clusterers, chosen by `type:`. Each groups the training
rows by their features (a label column is never learned from), and records how stable its
clusters are: it is refitted on `stability.seeds` subsamples with other seeds, and the adjusted
Rand index between their clusters and its own, on the training rows, is the `stability` the
gate can read."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from modelfab.spec.sections.base import ModelConfig, Section


class StabilityConfig(Section):
    seeds: int = Field(3, ge=0, le=50, description="Refits on subsamples, each with its own seed (0: not measured).")
    share: float = Field(0.8, gt=0, le=1, description="Share of the training rows each refit sees.")


class ClusterConfig(ModelConfig):
    stability: StabilityConfig = Field(default_factory=StabilityConfig)
    sample: int = Field(5000, ge=100, description="Rows the silhouette and stability are measured on at most.")
    # Distances lose contrast in hundreds of dimensions (a text or image embedding): density
    # clusterers then call most rows noise. A projection first is the usual remedy.
    reduce: int | None = Field(None, ge=2, le=1000, description="Principal components the features are projected "
                               "onto before clustering (PCA fitted on the training rows); null: none.")


class _ChosenK(ClusterConfig):
    k: int | None = Field(None, ge=2, le=1000, description="Clusters; left out, chosen over `k_range`.")
    k_range: tuple[int, int] = Field((2, 10), description="The smallest and largest k tried when k is left out.")

    @model_validator(mode="after")
    def _range(self) -> _ChosenK:
        low, high = self.k_range
        if not 2 <= low <= high:
            raise ValueError(f"k_range: got {list(self.k_range)}; expected [low, high] with 2 <= low <= high")
        return self


class KMeansConfig(_ChosenK):
    """k-means (scikit-learn). Left without `k`, every k of `k_range` is fitted and the one of
    best silhouette (on up to `sample` training rows) is kept.

    ```yaml
    train: {type: kmeans, k_range: [2, 12]}
    ```
    """

    type: Literal["kmeans"] = "kmeans"
    n_init: int = Field(4, ge=1, le=100, description="Starts per k; the one of least inertia is kept.")


class GaussianMixtureConfig(_ChosenK):
    """A Gaussian mixture (scikit-learn): soft clusters of their own shape. Left without `k`,
    the k of least BIC over `k_range` is kept."""

    type: Literal["gaussian_mixture"] = "gaussian_mixture"
    covariance: Literal["full", "diag", "tied", "spherical"] = Field("diag", description="Each component's covariance.")


class DBSCANConfig(ClusterConfig):
    """DBSCAN (scikit-learn): clusters are dense regions; rows in none are noise (cluster -1).
    A new row joins the cluster of the nearest core row within `eps`, else it is noise."""

    type: Literal["dbscan"] = "dbscan"
    eps: float | None = Field(
        None, gt=0, description="Neighbourhood radius; left out, the 90th percentile of the training rows' distance "
        "to their `min_samples`-th neighbour.",
    )
    min_samples: int = Field(10, ge=2, le=10_000, description="Rows within eps that make a core row.")


class HDBSCANConfig(ClusterConfig):
    """HDBSCAN (scikit-learn): clusters of varying density, noise left out (cluster -1). A new
    row joins the cluster of its nearest clustered training row if it lies within that row's
    core distance, else it is noise."""

    type: Literal["hdbscan"] = "hdbscan"
    min_cluster_size: int = Field(20, ge=2, description="Rows a cluster has at least.")
    min_samples: int | None = Field(None, ge=1, description="Neighbours of a core row; the min_cluster_size if left out.")


CLUSTER_TYPES = frozenset({"kmeans", "gaussian_mixture", "dbscan", "hdbscan"})
