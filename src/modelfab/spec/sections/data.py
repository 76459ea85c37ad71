"""`data:`: where the rows come from, what to predict, entities and time, images, a separate test table."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from modelfab.spec.sections.base import Section


class RemainingLife(Section):
    """Derive a remaining-useful-life target: cycles left until each entity's last row."""

    cap: float | None = Field(
        None, gt=0, description="Clip the derived target at this value for training (125 for C-MAPSS)."
    )
    horizon: float | None = Field(
        None, gt=0,
        description="Evaluate also scores the validation entities' rows at most this many time steps before "
        "their end, against their true (uncapped) remaining life: the question a test of units stopped before "
        "failure asks, on units the model did not train on (150 for C-MAPSS).",
    )


class TestData(Section):
    """A separate test file, used instead of a split-off test set."""

    source: str = Field(description="Path of the test table, relative to fab.yaml.")
    labels: str | None = Field(
        None,
        description="File with one target value per entity, the value at the entity's last row "
        "(as NASA's RUL_FD001.txt). Without it the target column must be in the test table.",
    )
    rows: Literal["all", "last"] = Field(
        "all", description="Score every row, or only the last row of each entity."
    )


class ImagesConfig(Section):
    """Image files as data: `data.source` is a folder with one subfolder per class, or a CSV/Parquet
    manifest with a path column (relative paths are relative to the manifest).

    ```yaml
    data:
      source: images/          # images/<class>/*.png
      target: label
      images: {bad_files: skip}
    ```
    """

    column: str = Field("image", description="The column of image paths (a folder source names it so).")
    bad_files: Literal["error", "skip"] = Field(
        "error", description="A missing, corrupt or unreadable image: stop with its name, or skip and count it."
    )


class DataConfig(Section):
    """Where the table is and which column to predict.

    ```yaml
    data:
      source: data/ai4i2020.csv
      target: Machine failure
      drop: [UDI, Product ID]
    ```
    """

    source: str = Field(description="CSV, TSV, TXT, JSONL or Parquet file, or a folder of images, relative to fab.yaml.")
    target: str | None = Field(None, description="The column to predict (every task today needs one).")
    format: Literal["auto", "csv", "parquet", "jsonl"] = Field(
        "auto", description="File format; auto uses the suffix (.parquet/.pq, .jsonl/.ndjson, else text)."
    )
    delimiter: str | None = Field(
        None, description="Field delimiter; detected when omitted. Use 'whitespace' for space-aligned files."
    )
    encoding: str = Field("auto", description="Text encoding; auto detects UTF-8 (with or without BOM) or Latin-1.")
    columns: list[str] | None = Field(None, description="Column names for files without a header row.")
    positive: str | int | float | bool | None = Field(
        None, description="The positive class of a binary target (the defect, the failure): F1, precision, recall, "
        "the decision threshold and the report are about it. Default: the rarer class, said in the run summary.",
    )
    normal: str | int | float | bool | None = Field(
        None, description="task: anomaly: the label column's value of a good part or a healthy reading; every "
        "other value is anomalous (several failure kinds become one). Without it, the label has two values.",
    )
    drop: list[str] = Field(
        default_factory=list, description="Columns never used as features: identifiers, leaky labels."
    )
    entity: str | None = Field(None, description="Column naming the machine/engine each row belongs to.")
    time: str | None = Field(None, description="Column ordering the rows within an entity.")
    remaining_life: RemainingLife | None = Field(
        None, description="Derive the target as remaining life per entity (needs entity and time)."
    )
    test: TestData | None = Field(None, description="A separate test table instead of a split-off test set.")
    images: ImagesConfig | None = Field(None, description="Image files: a class-per-folder tree or a manifest.")

    @property
    def image_column(self) -> str:
        return self.images.column if self.images else "image"
