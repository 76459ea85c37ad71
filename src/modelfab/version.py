"""The version of modelfab, as written into packages and registry requirements."""

__version__ = "0.1.0"
