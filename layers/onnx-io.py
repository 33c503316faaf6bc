"""Print the input/output names, element types and shapes of ONNX models (used for layers/README.md).

Run with the onnx venv that fetch-model-pack.sh leaves in the cache:
    .iprod/cache/onnx-venv/bin/python layers/onnx-io.py .iprod/model-pack/*.onnx
"""
import sys

import onnx

for path in sys.argv[1:]:
    model = onnx.load(path)
    weights = {init.name for init in model.graph.initializer}  # old exporters list weights as inputs
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    print(f"{path}: ir {model.ir_version}, opset {opsets}")
    for kind, values in (("in ", model.graph.input), ("out", model.graph.output)):
        for vi in values:
            if vi.name in weights:
                continue
            t = vi.type.tensor_type
            dims = [d.dim_param or d.dim_value for d in t.shape.dim]
            print(f"  {kind} {vi.name!r} {onnx.TensorProto.DataType.Name(t.elem_type).lower()} {dims}")
