"""What a Python integrator does with the client openapi-python-client generates from
openapi/openapi.json. `.ci/run` generates and installs the package, then runs this file with the
spec's path: the client must import, and every example in the spec must parse into its model
(an enum value, a required field or a format the model does not accept fails here)."""

import json
import sys
from pathlib import Path

from messages_inbox_api_client import AuthenticatedClient, models
from messages_inbox_api_client.api.inbox import list_conversations
from messages_inbox_api_client.api.patient_app import start_patient_conversation

spec = json.loads(Path(sys.argv[1]).read_text())
parsed = 0
for name, schema in spec["components"]["schemas"].items():
    example = schema.get("example")
    model = getattr(models, name.replace("_", ""), None)
    if example is None or not hasattr(model, "from_dict"):
        continue
    round_trip = model.from_dict(example).to_dict()
    missing = set(example) - set(round_trip)
    assert not missing, f"{name}: the model drops {sorted(missing)} of the example"
    parsed += 1
assert parsed >= 20, f"only {parsed} examples found a model"

client = AuthenticatedClient(base_url="http://127.0.0.1:8080", token="an-access-token")
assert callable(list_conversations.sync_detailed)
assert callable(start_patient_conversation.sync_detailed)
print(f"the generated client imports, and {parsed} examples of the spec parse into its models")
