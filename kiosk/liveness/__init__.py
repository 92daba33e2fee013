"""Active liveness check and whole-session face checks.

``signals``, ``challenges`` and ``session_checks`` are pure (no mediapipe, no dlib) and are
tested on recorded or synthetic signal sequences. ``adapter`` is the only module that imports
mediapipe; ``identity`` is the only one that imports dlib,
``id_photo`` the only one that imports Pillow. This is an active liveness check in
the spirit of ISO/IEC 30107-3 testing; it is not certified presentation attack detection.
"""

from kiosk.liveness.challenges import CHALLENGE_KINDS, ChallengeTracker, Verdict
from kiosk.liveness.signals import FrameSignals, pose_from_matrix

__all__ = ["CHALLENGE_KINDS", "ChallengeTracker", "FrameSignals", "Verdict", "pose_from_matrix"]
