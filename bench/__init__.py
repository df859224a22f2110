"""Load benchmark of chrgraph beside a bare Starlette baseline (issue 5); see README.md."""
