"""The export stage and ONNX scoring: the package as one ONNX graph (`build.py`: the transform's
nodes, `transform.py`, joined to the family's graph, `families.py`), checked against the package
(parity), and scored through ONNX Runtime (`runtime.py`)."""
