"""Evaluation: the T2M metrics protocol (`metrics`), the text-motion evaluator (`evaluator`), the results table."""
