"""Safe batch grading for cnn-course: nbgrader with sandboxed kernels and nothing lost.

``python -m grader batch ASSIGNMENT DOWNLOAD.zip`` grades a whole LMS download (see
docs/instructors.md). The pieces, usable on their own:

* :mod:`grader.sandbox` - kernels in a scratch folder, as an unprivileged user or without
  capabilities, under Landlock, with an audit hook;
* :mod:`grader.execute` - execution that survives hanging, crashing and very chatty notebooks;
* :mod:`grader.restore` - deleted test cells put back before grading;
* :mod:`grader.feedback` - hidden tests kept out of feedback;
* :mod:`grader.config` - all of it switched on in an nbgrader configuration;
* :mod:`grader.collect`, :mod:`grader.intake`, :mod:`grader.workers`, :mod:`grader.gradebook`,
  :mod:`grader.report`, :mod:`grader.check` - the steps of a batch;
* :mod:`grader.batch` - the batch command (``--workers``, resume, solution check);
* :mod:`grader.shard` - shards across machines and their merge.
"""

from grader.batch import BatchReport, StudentResult, grade_batch
from grader.config import apply_safe_grading, load_course_config
from grader.sandbox import detect_isolation
from grader.shard import merge_shards

__all__ = [
    "BatchReport",
    "StudentResult",
    "apply_safe_grading",
    "detect_isolation",
    "grade_batch",
    "load_course_config",
    "merge_shards",
]
