"""A small program packaged by Pants' pyoxidizer_binary with pyoxidizer-py."""
