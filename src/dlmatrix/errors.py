"""One exception type for everything a user can fix; the CLI prints it in one line."""


class DlmatrixError(Exception):
    """A failure with its cause and the fix, worded for the person at the terminal."""

    def __init__(self, cause: str, fix: str = "") -> None:
        super().__init__(cause)
        self.cause = cause
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.cause}\n  fix: {self.fix}" if self.fix else self.cause


class ConfigError(DlmatrixError):
    """matrix/ holds something invalid: names the file, the key and what is allowed."""

    def __init__(self, path: str, key: str, problem: str, allowed: str = "") -> None:
        fix = f"allowed: {allowed}" if allowed else f"edit {path}"
        super().__init__(f"{path}: {key}: {problem}", fix)
