"""skconv: convolutional filter-bank features without backpropagation.

Random, hand-designed and unsupervised-learned filter banks, applied by one
convolution engine and followed by an encoding and pooling, all as
scikit-learn transformers.
"""

from . import filters, plotting
from ._conv import Conv
from ._maps import FeatureMaps
from ._pool import Pool

__version__ = "0.1.0.dev0"

__all__ = ["Conv", "FeatureMaps", "Pool", "filters", "plotting"]
