"""Tasks: problems with checkable answers, registered by name.

Importing this package registers every built-in task; ``reasoning_gym`` and
``gsm_symbolic`` import reasoning-gym only when a task is created.
"""

from mistakelab.tasks import files as _files  # noqa: F401  (registers)
from mistakelab.tasks import igsm as _igsm  # noqa: F401
from mistakelab.tasks import knights_knaves as _kk  # noqa: F401
from mistakelab.tasks import reasoning_gym_task as _rg  # noqa: F401
from mistakelab.tasks.base import ANSWER_FORMAT, Task, TaskSpec, create_task, tasks

__all__ = ["ANSWER_FORMAT", "Task", "TaskSpec", "create_task", "tasks"]
