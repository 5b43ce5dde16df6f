"""Starting process instances."""

import json
import secrets

from django.db import transaction

from engine import history
from engine.agencies import membership_of
from engine.exceptions import TaskDataInvalidError
from engine.models import ProcessInstance
from engine.prepared import insert_rows
from engine.spiff import ProcessRuntime

from .service_levels import instance_promise
from .steps import parsed_process_of, save_step

MAX_DATA_BYTES = 256 * 1024
# No 0/O, 1/I/L: codes are read aloud and typed from paper.
_TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_tracking_code():
    """A random, unguessable code like ``K7QM-9XD3-PWAB`` (about 59 bits)."""
    raw = "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(12))
    return f"{raw[0:4]}-{raw[4:8]}-{raw[8:12]}"


def validate_data(data):
    """Process data must be a JSON object of plain values with text keys, and not too large."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TaskDataInvalidError("data must be a JSON object.")
    try:
        encoded = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TaskDataInvalidError(f"data must contain plain JSON values only: {error}")
    if len(encoded.encode("utf-8")) > MAX_DATA_BYTES:
        raise TaskDataInvalidError(f"data is larger than {MAX_DATA_BYTES // 1024} KiB.")
    bad_keys = [key for key in data if key.startswith("_")]
    if bad_keys:
        raise TaskDataInvalidError(f"data keys may not start with '_': {', '.join(sorted(bad_keys))}")
    return data


def instance_start(*, definition, data, actor, business_key="", applicant=None, timer_start_element_id=None):
    """Start an instance of ``definition`` and run it up to its first wait (task, timer or end).

    ``applicant`` is the citizen the application belongs to; a citizen who starts it themselves is
    its applicant.
    """
    data = validate_data(data)
    if applicant is None and actor is not None and membership_of(actor) is None and not actor.is_superuser:
        applicant = actor
    with transaction.atomic(), history.written_together():
        runtime = ProcessRuntime.new(parsed_process_of(definition), data)
        (instance,) = insert_rows([ProcessInstance(
            definition=definition,
            process_key=definition.key,
            tracking_code=new_tracking_code(),
            business_key=business_key or "",
            data=data,
            started_by=actor,
            applicant=applicant,
        )])
        history.record_instance_started(instance, actor=actor)
        instance_promise(instance)
        result = runtime.start(timer_start_element_id)
        save_step(instance, runtime, result, actor=actor, closed_task_ids=[])
    return instance
