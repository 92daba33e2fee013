"""The guide: spoken prompts (pyttsx3 on espeak-ng, in worker processes) and lip-sync timelines."""

from kiosk.guide.tts import GuideVoice, Prompt, find_prompt
from kiosk.guide.visemes import mouth_timeline

__all__ = ["GuideVoice", "Prompt", "find_prompt", "mouth_timeline"]
