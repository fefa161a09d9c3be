"""Errors of our own, turned into one clear line at the edge (command line, page)."""

from __future__ import annotations


class BeaconportError(Exception):
    """Base class for errors a user can act on."""


class RejectedFile(BeaconportError):
    """A file that cannot be taken at all; nothing from it is stored but the record of why."""

    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(f"{file_name}: {problem}")
        self.file_name = file_name
        self.problem = problem


class LoadFailed(BeaconportError):
    """An unexpected failure while loading a file; the transaction was rolled back."""

    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(f"{file_name}: {problem}; nothing from this file was stored")
        self.file_name = file_name
        self.problem = problem
