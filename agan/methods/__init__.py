"""Methods: one registry of every restoration method by name (filters, shipped models, checkpoints),
the network restorer with tiling and precision, the shipped releases and their cards' fields, the
`agan models` catalogue and ONNX export."""
