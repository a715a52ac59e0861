"""nbgrader settings for the cnn-course labs.

The course folder is the repository itself: lab sources with solutions and hidden tests live in
``solutions/<lab>/<lab>.ipynb``; ``nbgrader generate_assignment <lab> --force`` writes the
student version to ``labs/<lab>/<lab>.ipynb``. Run nbgrader from the repository root with the
virtual environment's ``bin`` on PATH (the gradebook calls ``alembic``).
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

# Anchored to this file, not to the working directory, so every command sees the same course.
COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
# Grades are local state, never committed (gradebook.db is in .gitignore).
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_ROOT, "gradebook.db")

# A cell that loops forever costs at most a minute; the timed-out cell scores 0, grading goes on.
c.ExecutePreprocessor.timeout = 60

# Student code never runs with the instructor's rights: plain `nbgrader autograde`, `nbgrader
# generate_feedback` and the formgrader get the same sandbox, restored test cells and hidden-test
# removal as `python -m grader batch` (docs/instructors.md). `grader` is installed with the course
# in its virtual environment; run nbgrader from there.
from grader.config import apply_safe_grading  # noqa: E402

apply_safe_grading(c, course_root=COURSE_ROOT)
