"""Every exception hal raises."""


class HalError(Exception):
    """A device could not do what was asked."""


class BoardError(HalError):
    """A board file is missing, unreadable, or has a missing or wrong field."""

    def __init__(self, path, field, problem):
        self.path, self.field, self.problem = str(path), field, problem
        where = f"{self.path}: {field}" if field else self.path
        super().__init__(f"{where}: {problem}")
