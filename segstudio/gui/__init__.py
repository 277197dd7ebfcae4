"""The segstudio window (Qt).  Everything here is thin: widgets calling core/nn."""
