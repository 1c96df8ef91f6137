"""iGSM: synthetic math word problems with checkable steps (Physics of Language Models 2.1).

Modules: :mod:`.vocab` (worlds), :mod:`.model` (spec and arithmetic), :mod:`.graph`
(generator), :mod:`.render` (question text), :mod:`.solve` (gold steps), :mod:`.align` and
:mod:`.verify` (step verifier), :mod:`.inject` (error injection), :mod:`.task` (the task).

Example:
    >>> from mistakelab.tasks.igsm import IGSMTask
    >>> IGSMTask(modulo=23).load(1, 5)[0].question.count("modulo 23") >= 1
    True
"""

from mistakelab.tasks.igsm.model import Spec
from mistakelab.tasks.igsm.task import IGSM_ANSWER_FORMAT, IGSMTask

__all__ = ["IGSMTask", "IGSM_ANSWER_FORMAT", "Spec"]
