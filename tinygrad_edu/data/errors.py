"""Errors raised while reading or fetching data sets."""

from tinygrad_edu.errors import TinygradEduError


class DataFileError(TinygradEduError, ValueError):
    """A data file that cannot be read as what it claims to be (bad magic number, truncated, bad CSV row...).

    The message names the file and the problem, and says what to do about it.
    """


class DownloadError(TinygradEduError, OSError):
    """Every mirror failed for a file (no network, HTTP error, checksum mismatch, connection cut).

    Nothing is left in the cache: partial downloads are written to a temporary file that is deleted.
    """
