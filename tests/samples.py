"""Sample events (tests/data/sample_events.jsonl, invented for this project) and allowlist rows."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = "rule_id,image,parent_image,module,url_host,loaded_image,signer,registry_path,user,host,reason,source,expires\n"
# Clears every finding of regsvr32 on host ws-fin-07 (where the Squiblydoo sample ran).
ALLOW_WS_FIN_07 = "*,*\\regsvr32.exe,,,,,,,,ws-fin-07,pentest by red team,ticket SEC-1234,\n"


def load(path=os.path.join(HERE, "data", "sample_events.jsonl")):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


SAMPLES = load()
BY_ID = {s["sample_id"]: s for s in SAMPLES}
MALICIOUS = BY_ID["sysmon1-squiblydoo"]
BENIGN = BY_ID["sysmon1-notepad"]
