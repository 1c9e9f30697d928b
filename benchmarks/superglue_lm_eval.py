"""lm-evaluation-harness's own SuperGLUE tasks over local copies of our rows.

``hub_doc`` writes a row of an ``ExampleTable`` as the Hugging Face hub's ``super_glue``
dataset has it (the columns lm-eval's YAMLs read; WSC with ``wsc.fixed``'s spans), and
``write_tasks`` copies lm-eval 0.4.13's ``super_glue/<task>/default.yaml`` with only its
dataset lines changed (``dataset_path: json`` over those rows) beside the helper files its
``!function`` lines name. ``configurable_task`` loads one as lm-eval's ``ConfigurableTask``,
so tests and ``bench_prompt.py --suite superglue`` compare against lm-eval's code itself.

lm-eval's record/util.py imports ``transformers.data.metrics.squad_metrics``, which
transformers 5 no longer has; ``squad_metrics_shim`` puts a module with its two functions
(SQuAD's token F1 and exact match, here gluebench's ``item_metrics``) in its place, so the
task loads. They only score ReCoRD in lm-eval's results; prompts and choices do not use them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

from gluebench.benchmark.table import ExampleTable
from gluebench.lm.suite_inputs import wsc_fixed

# our task -> lm-eval's folder and task name; the helper files its YAML's !function names
LM_EVAL_TASKS = {"BoolQ": ("boolq", "boolq"), "CB": ("cb", "cb"), "COPA": ("copa", "copa"),
                 "MultiRC": ("multirc", "multirc"), "ReCoRD": ("record", "record"),
                 "RTE": ("rte", "sglue_rte"), "WiC": ("wic", "wic"), "WSC": ("wsc", "wsc")}
HELPERS = {"cb": ["aggregate.py"], "copa": ["utils.py"], "record": ["util.py"],
           "wsc": ["preprocess_wsc.py"]}


def lm_eval_super_glue() -> Path:
    spec = importlib.util.find_spec("lm_eval")
    return Path(next(iter(spec.submodule_search_locations))) / "tasks" / "super_glue"


def hub_doc(table: ExampleTable, i: int) -> dict:
    """Row ``i`` as the hub's ``super_glue`` config of its task has it."""
    name = table.task.name
    doc = {f: table.inputs[f][i] for f in table.inputs}
    if name == "MultiRC":
        doc["idx"] = {"paragraph": int(table.groups["paragraph"][i]),
                      "question": int(table.groups["question"][i]), "answer": int(table.ids[i])}
    elif name == "ReCoRD":
        doc["idx"] = {"passage": int(table.groups["passage"][i]), "query": int(table.ids[i])}
        doc["answers"] = list(table.answers[i]) if table.answers is not None else []
        return doc
    else:
        doc["idx"] = int(table.ids[i])
    if name == "WSC":
        doc.update(wsc_fixed(doc))
    doc["label"] = int(table.labels[i]) if table.labels is not None else -1
    return doc


def task_yaml(folder_name: str, task_name: str, data_file: Path) -> str:
    """lm-eval's YAML with only the dataset lines pointed at a local JSONL file."""
    text = (lm_eval_super_glue() / folder_name / "default.yaml").read_text()
    files = json.dumps({"validation": str(data_file)})
    text = re.sub(r"^tag:\n(  - .*\n)+", "", text, flags=re.M)
    text = re.sub(r"^task: .*$", f"task: gb_{task_name}", text, flags=re.M)
    text = re.sub(r"^dataset_path: .*$", "dataset_path: json", text, flags=re.M)
    text = re.sub(r"^dataset_name: .*$", f"dataset_kwargs:\n  data_files: {files}", text,
                  flags=re.M)
    return re.sub(r"^training_split: .*\n", "", text, flags=re.M)


def write_tasks(tables: dict[str, ExampleTable], folder: Path) -> dict[str, str]:
    """Per task: its rows as JSONL and lm-eval's YAML over them; returns our task -> the
    lm-eval task name (``gb_<name>``)."""
    names = {}
    for task, table in tables.items():
        folder_name, task_name = LM_EVAL_TASKS[task]
        sub = folder / folder_name
        sub.mkdir(parents=True, exist_ok=True)
        data = sub / "validation.jsonl"
        data.write_text("".join(json.dumps(hub_doc(table, i)) + "\n" for i in range(len(table))))
        (sub / f"gb_{task_name}.yaml").write_text(task_yaml(folder_name, task_name, data))
        for helper in HELPERS.get(folder_name, []):
            shutil.copy(lm_eval_super_glue() / folder_name / helper, sub / helper)
        names[task] = f"gb_{task_name}"
    return names


def squad_metrics_shim() -> None:
    """Make ``import transformers.data.metrics.squad_metrics`` work on transformers 5."""
    import sys
    import types

    try:
        import transformers.data.metrics.squad_metrics  # noqa: F401  (transformers 4)
        return
    except ImportError:
        pass
    from gluebench.benchmark.item_metrics import exact_match, token_f1

    shim = types.ModuleType("transformers.data.metrics.squad_metrics")
    shim.compute_f1 = lambda gold, prediction: token_f1(prediction, gold)
    shim.compute_exact = lambda gold, prediction: int(exact_match(prediction, gold))
    metrics = types.ModuleType("transformers.data.metrics")
    metrics.squad_metrics = shim
    sys.modules.setdefault("transformers.data.metrics", metrics)
    sys.modules["transformers.data.metrics.squad_metrics"] = shim


def configurable_task(folder: Path, task: str):
    """lm-eval's ``ConfigurableTask`` for one of ``write_tasks``' tasks."""
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    squad_metrics_shim()
    folder_name, task_name = LM_EVAL_TASKS[task]
    config = load_yaml(folder / folder_name / f"gb_{task_name}.yaml")
    return ConfigurableTask(config=config)
