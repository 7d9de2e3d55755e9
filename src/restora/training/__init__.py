"""Training code: data pipelines and training loops for the learned models.

Never imported at inference: restoration, analysis and the CLI must work without it.
"""
