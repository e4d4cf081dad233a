"""librec.Error and one subclass per rec_status code (librec/core.h)."""


class Error(Exception):
    """A librec call failed.  status is the C rec_status code; the message is
    rec_last_error()'s text, naming the function and the argument at fault."""

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class InvalidArgument(Error, ValueError):
    status = -1


class OutOfMemory(Error, MemoryError):
    status = -2


class IOFailure(Error, OSError):
    status = -3


class FormatError(Error, ValueError):
    status = -4


class RangeError(Error, IndexError):
    status = -5


class StateError(Error):
    status = -6


class Unsupported(Error):
    status = -7


class NotFound(Error, KeyError):
    status = -8

    def __str__(self):              # KeyError would quote the message
        return Exception.__str__(self)


class Cancelled(Error):
    status = -9


_BY_STATUS = {c.status: c for c in (InvalidArgument, OutOfMemory, IOFailure, FormatError,
                                    RangeError, StateError, Unsupported, NotFound, Cancelled)}


def from_status(status, message):
    """The exception for a negative rec_status (Error itself for a code this
    package does not know, e.g. one added to a later library)."""
    cls = _BY_STATUS.get(status, Error)
    return cls(message, status)
