"""Contrastive fine-tuning: shard streaming and the training loop."""
