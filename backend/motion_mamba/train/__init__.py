"""Training machinery shared by every stage (VAE, denoiser, evaluator): the step loop, EMA, LR schedule,
checkpoints as safetensors + JSON, and DistributedDataParallel set-up for `torchrun`."""
