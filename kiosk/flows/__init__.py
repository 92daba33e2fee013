"""Broker flow scripts: the model, the loader that reports every problem, and the library.

Modules: ``model`` (pydantic models of a script), ``source`` (the YAML with its marks),
``messages`` (problems in the broker's words), ``checks`` (what pydantic cannot check),
``loader`` (``load_flow``, ``check_flow``, speech warnings), ``library`` (flows of a directory).
"""

from kiosk.flows.checks import MAX_PROMPT_SECONDS, MIN_POOL_SIZE, MIN_RETENTION_YEARS
from kiosk.flows.library import FlowLibrary, UnknownFlowError
from kiosk.flows.loader import check_flow, load_flow
from kiosk.flows.model import (
    CHALLENGES,
    VARIABLES,
    ChallengeStep,
    Flow,
    IdDocumentStep,
    QuestionStep,
    ReadAloudStep,
    SayStep,
    ShowIdStep,
    Step,
    UnknownStepError,
    WaitStep,
    reading_seconds,
    speaking_seconds,
)
from kiosk.flows.source import MAX_FILE_BYTES, Problem

__all__ = [
    "CHALLENGES",
    "MAX_FILE_BYTES",
    "MAX_PROMPT_SECONDS",
    "MIN_POOL_SIZE",
    "MIN_RETENTION_YEARS",
    "VARIABLES",
    "ChallengeStep",
    "Flow",
    "FlowLibrary",
    "Problem",
    "QuestionStep",
    "ReadAloudStep",
    "SayStep",
    "IdDocumentStep",
    "ShowIdStep",
    "Step",
    "UnknownFlowError",
    "UnknownStepError",
    "WaitStep",
    "reading_seconds",
    "check_flow",
    "load_flow",
    "speaking_seconds",
]
