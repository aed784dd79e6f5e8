"""Meterline: usage metering, entitlement and billing server (Vayu API)."""

from meterline.kit import decimals as _decimals  # noqa: F401  (sets the process decimal context)

__version__ = "0.1.0"
