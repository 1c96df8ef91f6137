"""Tasks: problems with checkable answers, registered by name."""

from mistakelab.core.registry import lazy
from mistakelab.tasks.base import ANSWER_FORMAT, Task, TaskSpec, create_task, tasks

lazy(
    tasks,
    {
        "gsm_symbolic": "mistakelab.tasks.reasoning_gym_task:gsm_symbolic",
        "reasoning_gym": "mistakelab.tasks.reasoning_gym_task:ReasoningGymTask",
        "gsm8k_file": "mistakelab.tasks.files:GSM8KFileTask",
        "math_file": "mistakelab.tasks.files:MathFileTask",
        "gsm8k_sample": "mistakelab.tasks.files:gsm8k_sample",
        "math_sample": "mistakelab.tasks.files:math_sample",
        "igsm": "mistakelab.tasks.igsm:IGSMTask",
        "knights_knaves": "mistakelab.tasks.knights_knaves:KnightsKnavesTask",
    },
)

__all__ = ["ANSWER_FORMAT", "Task", "TaskSpec", "create_task", "tasks"]
