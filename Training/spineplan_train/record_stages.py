"""Records the three training stages in the sidecar (each run only knows its own)."""
import json
import os
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
p = "../Sources/SpinePlanModel/Weights/spineplan-vnet.json"
m = json.load(open(p))
t = m["training"]
first = json.load(open("out/train-log-50min.json"))
second = json.load(open("out/train-log-stage2.json"))
third = json.load(open("out/train-log.json"))
t["stages"] = [
    {"command": "python -m spineplan_train.train --minutes 50 --batch 2 --crop-w 64 --lr 2e-3",
     "seconds": round(first["seconds"]), "steps": first["steps"]},
    {"command": "python -m spineplan_train.train --minutes 10 --batch 2 --crop-w 64 --lr 5e-4 --init <stage 1>",
     "seconds": round(second["seconds"]), "steps": second["steps"]},
    {"command": "python -m spineplan_train.train --minutes 30 --batch 2 --crop-w 64 --lr 1e-3 --spider-share 0.2 "
                "--init <stage 2>",
     "seconds": round(third["seconds"]), "steps": third["steps"]},
]
t["seconds"] = round(first["seconds"] + second["seconds"] + third["seconds"])
t["steps"] = first["steps"] + second["steps"] + third["steps"]
t["samples_seen"] = 2 * t["steps"]
t["command"] = ("Training/train.sh (stage 1: 50 min at lr 2e-3; stage 2: 10 min at lr 5e-4 from stage 1; "
                "stage 3: 30 min at lr 1e-3 from stage 2 with 20 % SPIDER 2D batches)")
from spineplan_train.export import dumps
open(p, "w").write(dumps(m))
print(json.dumps(t, indent=1))
