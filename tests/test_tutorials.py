"""Three chapters of public Keras tutorial code, step by step, on lamina (see `tutorial_steps.py`).

Steps run in order with one shared context per chapter, like a notebook's cells. A step listed in
`PENDING` must still fail (strict): the day it passes, the test says so and the list shrinks.
"""

import inspect

import pytest

import lamina
from tutorial_steps import CHAPTERS, PENDING


@pytest.fixture(scope="module")
def contexts():
    return {name: {} for name in CHAPTERS}


STEPS = [(chapter, step) for chapter, steps in CHAPTERS.items() for step in steps]


@pytest.mark.parametrize("chapter, step", STEPS, ids=[step.__name__ for _, step in STEPS])
def test_tutorial_step(chapter, step, contexts, tmp_path, request):
    if step.__name__ in PENDING:
        request.applymarker(pytest.mark.xfail(reason=PENDING[step.__name__], strict=True))
    args = (lamina, contexts[chapter]) + ((tmp_path,) if "tmp_path" in inspect.signature(step).parameters else ())
    step(*args)
