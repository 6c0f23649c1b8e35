"""Verification stage: does a cited source back the paper sentence that cites it (figures included)?"""

from citeqa.verify.claims import (
    VERDICTS,
    CheckThresholds,
    ClaimVerdict,
    Passage,
    PassageEvidence,
    WitnessCheck,
    check_claim,
    default_thresholds_path,
    load_thresholds,
)

__all__ = [
    "VERDICTS",
    "CheckThresholds",
    "ClaimVerdict",
    "Passage",
    "PassageEvidence",
    "WitnessCheck",
    "check_claim",
    "default_thresholds_path",
    "load_thresholds",
]
