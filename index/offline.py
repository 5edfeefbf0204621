"""Keep every library the assistant runs from reaching the network (telemetry, analytics, hub).

The variables below are read by the libraries themselves; each must be set before the library reads
it, so :func:`stay_offline` runs in the embedding and composition setup (and first thing in the CLI),
never at import time:

- ``ORT_DISABLE_TELEMETRY=1``: onnxruntime (1.32 on Linux) starts a 1DS telemetry uploader when it
  is imported; about 10 s later it resolves ``mobile.events.data.microsoft.com`` and keeps retrying
  while the process lives. The variable is read once, at ``import onnxruntime``: set later it does
  nothing, and neither does ``onnxruntime.disable_telemetry_events()`` (measured with strace: the
  lookups continue after it). Only the value ``1`` turns it off.
- ``ANONYMIZED_TELEMETRY=False``: Chroma's product telemetry (the store also passes
  ``anonymized_telemetry=False`` to its client).
- ``GRADIO_ANALYTICS_ENABLED=False``: Gradio's usage analytics and version check.
- ``HF_HUB_OFFLINE=1``, ``HF_HUB_DISABLE_TELEMETRY=1``: no Hugging Face Hub downloads or telemetry
  (Gradio imports ``huggingface_hub``).

They are forced, not defaulted: running offline is a promise of the assistant, not a preference.
"""

from __future__ import annotations

import os
import sys
import warnings

#: Variable -> the value that keeps its library offline.
OFFLINE_ENV: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def stay_offline() -> None:
    """Set :data:`OFFLINE_ENV` in ``os.environ`` (idempotent, cheap; call before building anything).

    Warns (``RuntimeWarning``) when onnxruntime was already imported with its telemetry on: that
    process will keep trying to reach its telemetry server, and only a restart with
    ``ORT_DISABLE_TELEMETRY=1`` (or with this function called first) stops it.
    """
    if "onnxruntime" in sys.modules and os.environ.get("ORT_DISABLE_TELEMETRY") != "1":
        warnings.warn("onnxruntime was imported before its telemetry was turned off; this process may try to "
                      "reach mobile.events.data.microsoft.com. Set ORT_DISABLE_TELEMETRY=1 before starting it.",
                      RuntimeWarning, stacklevel=2)
    os.environ.update(OFFLINE_ENV)
