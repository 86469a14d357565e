"""Training side of quoteframe: corpora, dataset building, fine-tuning, evaluation, export.

Needs the ``train`` extra (torch, transformers, datasets, scikit-learn).
"""
