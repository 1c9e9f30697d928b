"""Fine-tuning: the recipe (config), features, the training loop, methods (full, LoRA, ...)."""
