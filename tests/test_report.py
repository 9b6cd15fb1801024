from dlmatrix.config import load_matrix
from dlmatrix.report import render_html
from dlmatrix.results import Environment, ResultSet, judged_cell

RUN = {
    "tool": "dlmatrix",
    "tool_version": "0",
    "git_commit": None,
    "host": "h",
    "backend": "host",
    "repeat": 1,
    "started": "s",
    "finished": "f",
}


def test_program_output_is_escaped():
    matrix = load_matrix()
    env = Environment("host-glibc", "glibc", "2.36", "gcc")
    cell = judged_cell(
        matrix,
        env,
        "reopen",
        "pinned",
        ["exit:4"],
        [0.1],
        evidence={"note": "<img src=x onerror=alert(1)>"},
        stderr="<script>alert('pwned')</script>",
    )
    html = render_html(ResultSet(RUN, [cell]))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_cells_show_result_and_verdict():
    matrix = load_matrix()
    glibc = Environment("host-glibc", "glibc", "2.36", "gcc")
    musl = Environment("host-musl", "musl", "1.2.3", "gcc")
    cells = [
        judged_cell(matrix, glibc, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV"], [0.1]),
        judged_cell(matrix, musl, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV"], [0.1]),
    ]
    html = render_html(ResultSet(RUN, cells))
    assert "glibc 2.36" in html and "musl 1.2.3" in html
    assert html.count("crash SIGSEGV") == 2
    assert 'data-verdict="unexpected"' in html and 'data-verdict="ok"' in html
