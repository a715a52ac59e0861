"""The course hub (hub/) end to end: a JupyterHub on localhost, one instructor and two students
made for the test, each driving their own JupyterLab in headless Chromium through lab 1:

1. the instructor generates and releases lab 1 from the formgrader;
2. both students fetch it from the Assignments panel; student one answers three parts (the file
   written as that student), validates and submits from the panel; student two submits it untouched;
3. the hub is restarted (nothing submitted may be lost, nobody's server stops);
4. the instructor collects, autogrades (sandboxed: the course's nbgrader_config.py), generates and
   releases feedback from the formgrader;
5. each student fetches feedback and reads their score: what the answered parts are worth, and 0;
6. isolation, tried as a student: the other student's files, the exchange's submissions and
   feedback, the instructor's course folder, gradebook and lab sources are out of reach.

Then the faults, with nbgrader's command line as a student: fetching an assignment that was never
released or fetching one twice, submitting twice, late, and with a renamed notebook.

Needs root (it creates and removes the accounts), useradd and runuser, Chromium
(scripts/install_browser.sh) and the hub's environment (hub/install.sh; `make test` runs it, and
this test runs it too when it is missing); skips otherwise, saying why. Screenshots of every step:
build/screenshots/hub/ (ignored by git).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import parse_utc
from test_browser import CHROMIUM, free_port

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "hub"
PREFIX = Path(os.environ.get("CNN_HUB_PREFIX", "/opt/cnn-course-hub"))
SHOTS = ROOT / "build" / "screenshots" / "hub"
LAB = "lab1_conv_pool"
UNRELEASED_LAB = "lab2_build_train"
INSTRUCTOR = "hubt-teacher"
STUDENT_ONE, STUDENT_TWO = "hubt-ann", "hubt-bob"
ACCOUNTS = (INSTRUCTOR, STUDENT_ONE, STUDENT_TWO)
ANSWERED = ("output_size", "parameter_counts", "same_padding")  # student one's answers (solution cells)
COURSE = f"/home/{INSTRUCTOR}/cnn-course"
TIMEOUT_MS = 240_000  # one step: a server start or an autograde on a busy 2-core machine


def _cannot_run() -> str | None:
    if not CHROMIUM.exists():
        return "no /usr/bin/chromium (scripts/install_browser.sh)"
    if os.geteuid() != 0:
        return "the hub test creates accounts: it must run as root"
    for tool in ("useradd", "userdel", "runuser", "chpasswd"):
        if shutil.which(tool) is None:
            return f"no {tool}: this machine cannot create the test's accounts"
    if not (PREFIX / "bin" / "jupyterhub").exists() and shutil.which("apt-get") is None:
        return f"no hub environment in {PREFIX} and no apt-get to make one (hub/install.sh)"
    return None


pytestmark = pytest.mark.skipif(_cannot_run() is not None, reason=_cannot_run() or "")


def _points_of_answered_parts() -> float:
    """Points of the test cells that check the answered solution cells (each test follows its answer)."""
    notebook = nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    points, answered = 0.0, False
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answered = meta["grade_id"] in ANSWERED
        elif meta.get("grade") and answered:
            points += meta["points"]
    return points


def _total_points() -> float:
    notebook = nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    return sum(cell.metadata.get("nbgrader", {}).get("points", 0) for cell in notebook.cells)


class Hub:
    """The hub under test: hub/start.sh with its state and exchange in a scratch folder."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.exchange = scratch / "exchange"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            CNN_HUB_URL=self.url,
            CNN_HUB_API_PORT=str(free_port()),
            CNN_HUB_PROXY_API_PORT=str(free_port()),
            CNN_HUB_STATE=str(scratch / "state"),
            CNN_HUB_EXCHANGE=str(self.exchange),
            CNN_HUB_PREFIX=str(PREFIX),
        )
        self.password = secrets.token_urlsafe(12)
        self.process: subprocess.Popen | None = None
        self.log = scratch / "hub.log"

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen([str(HUB / "start.sh")], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600  # the first start may install the environment
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=5) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("the hub did not start:\n" + self.log.read_text()[-4000:])
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def users(*args: str, **env: str) -> str:
    result = subprocess.run([str(HUB / "users.sh"), *args], env=dict(os.environ, **env),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def as_user(name: str, *command: str, hub: Hub, stdin: str | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run a command as ``name``, in their home, with the environment their JupyterLab gets."""
    home = f"/home/{name}"
    env = ["env", "-i", f"HOME={home}", f"USER={name}", f"PATH={PREFIX}/bin:/usr/bin:/bin",
           f"CNN_HUB_EXCHANGE={hub.exchange}", "LANG=C.UTF-8"]
    return subprocess.run(["runuser", "-u", name, "--", *env, *command], input=stdin, capture_output=True,
                          text=True, cwd=cwd or home, timeout=300)


@pytest.fixture(scope="module")
def hub():
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="cnn-course-hub-test-", dir="/tmp"))
    os.chmod(scratch, 0o755)  # the accounts must reach the exchange inside it
    instance = Hub(scratch)
    install = subprocess.run([str(HUB / "install.sh")], env=instance.env, capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, install.stdout + install.stderr
    users("remove", *ACCOUNTS)  # leftovers of an interrupted run
    accounts = {"CNN_HUB_PASSWORD": instance.password, "CNN_HUB_EXCHANGE": str(instance.exchange)}
    users("instructor", INSTRUCTOR, **accounts)
    users("student", STUDENT_ONE, STUDENT_TWO, **accounts)
    try:
        instance.start()
        print(f"hub ready in {time.monotonic() - started:.0f} s")
        yield instance
    finally:
        try:
            instance.stop()
            users("remove", *ACCOUNTS)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def server_pid(name: str) -> int:
    """The process id of ``name``'s JupyterLab server (jupyterhub-singleuser)."""
    found = subprocess.run(["pgrep", "-u", name, "-f", "jupyterhub-singleuser"], capture_output=True, text=True)
    pids = [int(pid) for pid in found.stdout.split()]
    assert len(pids) == 1, (name, pids)
    return pids[0]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def start_log_in(browser, hub: Hub, name: str):
    """A browser context of its own for ``name`` (its cookies): log in, which starts their server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", hub.password)
    page.click("#login_submit", no_wait_after=True)
    return page


def wait_for_lab(page, name: str):
    page.wait_for_url(re.compile(rf"/user/{name}/lab"))
    page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    return page


def nbgrader_menu(page) -> set[str]:
    """The items of the Nbgrader menu (left open)."""
    page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    items = page.locator(".lm-Menu-content .lm-Menu-itemLabel")
    items.first.wait_for()
    return set(items.all_inner_texts())


def open_assignments(page):
    page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    page.click(".lm-Menu-itemLabel:text-is('Assignment List')")
    page.wait_for_selector("#released_assignments_list")
    page.wait_for_selector("#released_assignments_list_loading", state="hidden")
    return page


def panel_item(page, section: str, text: str = LAB):
    return page.locator(f"#{section}_assignments_list > .list_item", has_text=text).first


def table_row(page, name: str, column: str = "name"):
    """The formgrader's table row whose ``column`` reads ``name``."""
    return page.locator("tr").filter(has=page.locator(f"td.{column}", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")))


def formgrader(page, action: str, row: str = LAB, column: str = "name") -> None:
    """Click the formgrader's ``action`` button in ``row`` and wait for its report."""
    table_row(page, row, column).locator(f"td.{action} a").click()
    page.wait_for_selector("#success-modal, #error-modal", state="visible")
    if page.locator("#error-modal").count():
        pytest.fail(f"formgrader {action} of {row} failed:\n" + page.locator("#error-modal").inner_text())
    page.locator("#success-modal .modal-footer button").click()
    page.wait_for_selector("#success-modal", state="hidden")


def answer_parts(hub: Hub) -> None:
    """Student one's answers: the solution of each part in ANSWERED, saved as that student."""
    path = Path(f"/home/{STUDENT_ONE}/{LAB}/{LAB}.ipynb")
    fetched = nbformat.read(path, as_version=4)
    solutions = {cell.metadata["nbgrader"]["grade_id"]: cell.source
                 for cell in nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4).cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}
    for cell in fetched.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in ANSWERED:
            cell.source = solutions[grade_id]
    result = as_user(STUDENT_ONE, "sh", "-c", 'cat > "$1"', "-", str(path), hub=hub, stdin=nbformat.writes(fetched))
    assert result.returncode == 0, result.stderr


def feedback_score(page, hub: Hub, name: str) -> tuple[float, float]:
    """The score on the feedback page, opened by the student in their own browser; the page
    went through the safe pipeline's feedback step (hidden tests replaced, none shown)."""
    feedback_dirs = sorted(Path(f"/home/{name}/{LAB}/feedback").iterdir())
    assert len(feedback_dirs) == 1, feedback_dirs
    relative = f"{LAB}/feedback/{feedback_dirs[0].name}/{LAB}.html"
    page.goto(f"{hub.url}/user/{name}/files/{relative}")
    text = page.locator("body").inner_text()
    assert "hidden tests ran here; they are not shown" in text
    assert "default_rng(404)" not in text  # a line of part 4's hidden tests
    header = page.locator("h4", has_text="Score:").first.inner_text()
    score, total = re.search(r"Score: ([\d.]+) / ([\d.]+)", header).groups()
    return float(score), float(total)


def test_a_term_on_the_hub(hub, browser):
    started = time.monotonic()
    timings = {}

    def step(name: str) -> None:  # seconds since the start, per step (printed with -s)
        timings[name] = round(time.monotonic() - started)
    expected = _points_of_answered_parts()
    assert expected > 0

    # 1. The instructor generates and releases lab 1 from the formgrader (in a tab of its own:
    # JupyterHub >= 4.1 forbids the formgrader's iframe inside JupyterLab, nbgrader's docs).
    # Everybody logs in at once: the hub starts the three servers side by side.
    logging_in = {name: start_log_in(browser, hub, name) for name in ACCOUNTS}
    teacher = wait_for_lab(logging_in[INSTRUCTOR], INSTRUCTOR)
    menu = nbgrader_menu(teacher)
    assert {"Assignment List", "Formgrader"} <= menu, menu  # the formgrader: instructors only
    teacher.keyboard.press("Escape")
    shot(teacher, "01_instructor_lab")
    grader = teacher.context.new_page()
    grader.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader")
    table_row(grader, LAB).wait_for()
    formgrader(grader, "assign")
    formgrader(grader, "release")
    table_row(grader, LAB).locator("td.status", has_text="released").wait_for()
    shot(grader, "02_instructor_released")
    step("released")

    # 2. The students fetch it from the Assignments panel.
    pages = {}
    for name in (STUDENT_ONE, STUDENT_TWO):
        page = wait_for_lab(logging_in[name], name)
        assert "Formgrader" not in nbgrader_menu(page)
        page.keyboard.press("Escape")
        assert page.request.get(f"{hub.url}/user/{name}/formgrader").status == 404
        page = open_assignments(page)
        panel_item(page, "released").get_by_role("button", name="Fetch", exact=True).click()
        panel_item(page, "fetched").wait_for()
        pages[name] = page
    shot(pages[STUDENT_ONE], "03_student_fetched")
    step("fetched")

    # Student one answers three parts, validates (the other parts fail) and submits.
    answer_parts(hub)
    ann = pages[STUDENT_ONE]
    fetched = panel_item(ann, "fetched")
    fetched.locator(".assignment-notebooks-link").click()
    fetched.get_by_role("button", name="Validate", exact=True).click()
    dialog = ann.locator(".jp-Dialog.nbgrader-ErrorDialog")  # nbgrader's dialog for failing tests
    dialog.wait_for()
    report = dialog.inner_text()
    assert "The following cell failed" in report and "correlate2d" in report, report  # an unanswered part
    shot(ann, "04_student_one_validated")
    ann.locator(".jp-Dialog .jp-mod-accept").click()
    panel_item(ann, "fetched").get_by_role("button", name="Submit", exact=True).click()
    panel_item(ann, "submitted").wait_for()
    bob = pages[STUDENT_TWO]
    panel_item(bob, "fetched").get_by_role("button", name="Submit", exact=True).click()
    panel_item(bob, "submitted").wait_for()
    shot(bob, "05_student_two_submitted")
    step("submitted")

    # 3. The hub restarts in the middle of the term: the servers keep running, nothing is lost.
    # (Open pages say "Server unavailable or unreachable" while it is down; students reload.)
    servers = {name: server_pid(name) for name in ACCOUNTS}
    hub.stop()
    hub.start()
    for page in pages.values():
        page.reload()
        page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
        if not page.locator("#released_assignments_list").count():
            open_assignments(page)
        panel_item(page, "submitted").wait_for()
    assert {name: server_pid(name) for name in ACCOUNTS} == servers
    step("restarted")

    # 4. The instructor collects, autogrades, generates and releases feedback.
    grader.reload()
    formgrader(grader, "collect")
    grader.reload()
    table_row(grader, LAB).locator("td.num-submissions a", has_text="2").wait_for()
    grader.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/manage_submissions/{LAB}")
    for name in (STUDENT_ONE, STUDENT_TWO):
        formgrader(grader, "autograde", row=name, column="student-id")
    grader.reload()
    table_row(grader, STUDENT_TWO, "student-id").locator("td.score", has_text="/").wait_for()
    shot(grader, "06_instructor_autograded")
    grader.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader")
    formgrader(grader, "generate-feedback")
    formgrader(grader, "release-feedback")
    step("graded")
    # The formgrader graded with the course's safe-grading pipeline: sandboxed kernels...
    assert "Sandbox: not copied into the kernel's folder" in hub.log.read_text()

    # 5. Each student fetches feedback and reads their own score.
    scores = {}
    for name, page in pages.items():
        page.click("#refresh_assignments_list")
        panel_item(page, "submitted").get_by_role("button", name="Fetch Feedback", exact=True).wait_for()
        panel_item(page, "submitted").get_by_role("button", name="Fetch Feedback", exact=True).click()
        panel_item(page, "submitted").locator("a", has_text="view feedback").wait_for()
        shot(page, f"07_{name}_feedback_fetched")
        scores[name] = feedback_score(page, hub, name)
        shot(page, f"08_{name}_feedback")
    total = _total_points()
    assert scores[STUDENT_ONE] == (expected, total)
    assert scores[STUDENT_TWO] == (0.0, total)
    step("feedback")

    # 6. Isolation, as student two would try it from a terminal or a notebook.
    inbound, feedback = hub.exchange / "cnn-course" / "inbound", hub.exchange / "cnn-course" / "feedback"
    probe = (
        "import os, sys\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        os.listdir(path) if os.path.isdir(path) else open(path).read(1)\n"
        "        print('READ', path)\n"
        "    except PermissionError:\n"
        "        print('DENIED', path)\n"
    )
    targets = [f"/home/{STUDENT_ONE}", f"/home/{STUDENT_ONE}/{LAB}/{LAB}.ipynb", str(inbound), str(feedback),
               COURSE, f"{COURSE}/gradebook.db", f"{COURSE}/solutions", f"{COURSE}/solutions/{LAB}/{LAB}.ipynb",
               f"{COURSE}/submitted", f"/home/{INSTRUCTOR}/.jupyter/nbgrader_config.py"]
    result = as_user(STUDENT_TWO, f"{PREFIX}/bin/python", "-c", probe, *targets, hub=hub)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == [f"DENIED {target}" for target in targets]
    # The released lab and the exchange's course folder stay readable: that is how students fetch.
    assert as_user(STUDENT_TWO, "ls", str(hub.exchange / "cnn-course" / "outbound" / LAB), hub=hub).returncode == 0
    step("isolation")
    print("term on the hub, seconds from the start:", timings)


def test_faults_give_nbgrader_messages_and_lose_no_submission(hub):
    """As a student, with nbgrader's command line (the panel calls the same code)."""
    nbgrader = f"{PREFIX}/bin/nbgrader"

    # A fetch of an assignment that was never released: refused, saying so.
    result = as_user(STUDENT_TWO, nbgrader, "fetch_assignment", UNRELEASED_LAB, hub=hub)
    assert result.returncode != 0
    assert f"Assignment not found at: {hub.exchange}" in result.stderr, result.stderr

    # Late: the instructor sets a due date in the past; the student can still submit.
    late = as_user(INSTRUCTOR, nbgrader, "db", "assignment", "add", LAB, "--duedate=2020-01-01 00:00:00 UTC",
                   hub=hub, cwd=COURSE)
    assert late.returncode == 0, late.stderr

    # A second submission (the first came from the browser), with the notebook renamed: nbgrader
    # warns, and keeps both.
    if not Path(f"/home/{STUDENT_TWO}/{LAB}").exists():  # the browser test did not get that far
        assert as_user(STUDENT_TWO, nbgrader, "fetch_assignment", LAB, hub=hub).returncode == 0
        assert as_user(STUDENT_TWO, nbgrader, "submit", LAB, hub=hub).returncode == 0
    # A second fetch would overwrite the student's work: refused.
    again = as_user(STUDENT_TWO, nbgrader, "fetch_assignment", LAB, hub=hub)
    assert again.returncode != 0
    assert "You already have a copy of the assignment in this directory" in again.stderr, again.stderr
    renamed = as_user(STUDENT_TWO, "mv", f"{LAB}/{LAB}.ipynb", f"{LAB}/{LAB}-final.ipynb", hub=hub)
    assert renamed.returncode == 0, renamed.stderr
    second = as_user(STUDENT_TWO, nbgrader, "submit", LAB, hub=hub)
    assert second.returncode == 0, second.stderr
    assert "Possible missing notebooks and/or extra notebooks" in second.stderr
    assert f"{LAB}.ipynb: MISSING" in second.stderr and f"{LAB}-final.ipynb: EXTRA" in second.stderr

    # Every submission is in the exchange, as the instructor lists it...
    listed = as_user(INSTRUCTOR, nbgrader, "list", "--inbound", hub=hub, cwd=COURSE)
    assert listed.returncode == 0, listed.stderr
    stamps = re.findall(rf"cnn-course {STUDENT_TWO} {LAB} (.+?) \(", listed.stderr)
    assert len(stamps) == 2, listed.stderr
    # ... and collecting takes the newest (nbgrader's documented rule), late as it is.
    collect = as_user(INSTRUCTOR, nbgrader, "collect", "--update", LAB, f"--student={STUDENT_TWO}", hub=hub, cwd=COURSE)
    assert collect.returncode == 0, collect.stderr
    collected = Path(COURSE, "submitted", STUDENT_TWO, LAB)
    assert (collected / f"{LAB}-final.ipynb").exists()
    newest = max(parse_utc(stamp) for stamp in stamps)
    assert parse_utc((collected / "timestamp.txt").read_text().strip()) == newest
