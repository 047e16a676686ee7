"""ImageMagick facts checked against the live process: policy rights, font, resource limits.

No Dramatiq here: ``middleware.imagemagick`` and ``ops.imagemagick_cli`` use it.
Nothing is loaded at import time; MagickCore starts on the first check.
"""

from pipeline.imagemagick.font import FontReport, check_font
from pipeline.imagemagick.preflight import (
    FONT_SETTING,
    Finding,
    FontRefused,
    ImageMagickRefused,
    ImagePolicyDenied,
    Need,
    Status,
    check,
    check_font_setting,
    check_limits,
    check_need,
)
from pipeline.imagemagick.rights import (
    SYSTEM_POLICY,
    UNLIMITED,
    Right,
    denying_files,
    is_authorized,
    policy_files,
    resource_limits,
)

__all__ = [
    "FONT_SETTING",
    "SYSTEM_POLICY",
    "UNLIMITED",
    "Finding",
    "FontRefused",
    "FontReport",
    "ImageMagickRefused",
    "ImagePolicyDenied",
    "Need",
    "Right",
    "Status",
    "check",
    "check_font",
    "check_font_setting",
    "check_limits",
    "check_need",
    "denying_files",
    "is_authorized",
    "policy_files",
    "resource_limits",
]
