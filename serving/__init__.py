"""quoteframe: label news sentences as direct quote, neutral paraphrase or loaded paraphrase."""

from quoteframe.classifier import Classifier
from quoteframe.labels import LABELS
from quoteframe.manifest import ModelFolderError
from quoteframe.results import Prediction, SentenceResult

__all__ = ["LABELS", "Classifier", "ModelFolderError", "Prediction", "SentenceResult"]
