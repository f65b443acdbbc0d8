"""skconv: convolutional filter-bank features without backpropagation.

Random, hand-designed and unsupervised-learned filter banks, applied by one
convolution engine and followed by an encoding and pooling, all as
scikit-learn transformers.
"""

from . import filters, plotting
from ._conv import Conv
from ._families import EdgeConv, GaborConv, RandomConv
from ._kmeans_conv import KMeansConv
from ._lcn import LocalContrastNorm
from ._maps import FeatureMaps
from ._minirocket import MiniRocket
from ._grouping import channel_similarity, group_channels
from ._patch_families import PCAConv, PatchConv
from ._pool import Pool
from ._receptive_field import ReceptiveFieldConv
from ._shuffle import ChannelShuffle
from ._stack import LayerwiseStack
from ._transform_pool import TransformPool
from ._union import MapUnion
from ._zca import ZCA

__version__ = "0.1.0.dev0"

__all__ = [
    "ChannelShuffle",
    "Conv",
    "EdgeConv",
    "FeatureMaps",
    "GaborConv",
    "KMeansConv",
    "LayerwiseStack",
    "LocalContrastNorm",
    "MapUnion",
    "MiniRocket",
    "PCAConv",
    "PatchConv",
    "Pool",
    "RandomConv",
    "ReceptiveFieldConv",
    "TransformPool",
    "ZCA",
    "channel_similarity",
    "filters",
    "group_channels",
    "plotting",
]
