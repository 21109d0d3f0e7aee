"""The encoder: offline default weights (E5S1 reader), wrapper, loss, distributed helpers, checkpoints."""
