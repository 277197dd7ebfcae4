"""segstudio: a desktop program for semantic segmentation with SegNet."""

__version__ = "0.1.0"
