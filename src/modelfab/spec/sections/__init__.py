"""The spec's sections, one file each: data, prepare (validate, clean, split), features, train
(and nets), evaluate (evaluate, gate, register), ops (tracking, serve, monitor, retrain)."""
