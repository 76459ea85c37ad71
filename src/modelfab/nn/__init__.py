"""The PyTorch code, in one place: modules (MLP, CNN, LSTM/GRU, Transformer), pretrained
backbones (EfficientNet-Lite0, MiniLM), augmentation, the trainer, optimizers and schedules,
checkpoints, and the strategy (the one seam where distributed training enters).

Importing this package imports nothing heavy; each module imports torch itself."""
