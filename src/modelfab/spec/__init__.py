"""The `fab.yaml` contract: schema, cross-field checks, migrations and the loader."""

from modelfab.spec.load import Project, json_schema, load_spec, parse_spec
from modelfab.spec.schema import CURRENT_VERSION, FabSpec

__all__ = ["CURRENT_VERSION", "FabSpec", "Project", "json_schema", "load_spec", "parse_spec"]
