"""A real Jekyll site in a real git repository, built in a temp folder, for the git source's tests.

``SiteRepo`` keeps a working clone and a bare "remote" (what the source reads, as a
deployment reads the site's server); every change is a real commit pushed to the
remote, and ``force_push`` rewrites the remote's history.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import SAMPLE

GIT_ENV = {
    "GIT_AUTHOR_NAME": "scraper",
    "GIT_AUTHOR_EMAIL": "scraper@example.invalid",
    "GIT_COMMITTER_NAME": "scraper",
    "GIT_COMMITTER_EMAIL": "scraper@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": os.environ.get("HOME", "/tmp"),
}


def git(cwd: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def post_text(
    post_id: str, title: str, day: str = "2026-11-25", body: str = "正文第一段，营收增长12%。", category: str = "emnews"
) -> str:
    return (
        f'---\nlayout: post\ntitle: "{title}"\ndate: {day} 09:30:00 +0800\ncategories: {category}\n'
        f"tags: 东财滚动新闻\n---\n\n<p>{body}</p>\n\n<http://finance.eastmoney.com/a/{post_id}.html>\n"
    )


class SiteRepo:
    def __init__(self, root: Path, with_sample: bool = True, jekyll: bool = True, when: str | None = None) -> None:
        self.remote = root / "site.git"
        self.work = root / "site"
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.remote))
        git(root, "init", "--quiet", "--initial-branch=main", str(self.work))
        git(self.work, "remote", "add", "origin", str(self.remote))
        if jekyll:
            (self.work / "_config.yml").write_text("title: finews\nplugins: [jekyll-feed]\n", encoding="utf-8")
            (self.work / "_posts").mkdir()
            (self.work / "_posts" / "README.md").write_text("posts of the last three days\n", encoding="utf-8")
        else:
            (self.work / "main.py").write_text("print('not a site')\n", encoding="utf-8")
        if with_sample:
            for path in sorted(SAMPLE.glob("*.md")):
                (self.work / "_posts" / path.name).write_bytes(path.read_bytes())
        self.commit("initial site", when=when)

    @property
    def url(self) -> str:
        return str(self.remote)

    def path(self, rel: str) -> Path:
        return self.work / rel

    def write(self, rel: str, data: str | bytes) -> None:
        target = self.work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        target.write_bytes(data)

    def move(self, src: str, dst: str) -> None:
        (self.work / dst).parent.mkdir(parents=True, exist_ok=True)
        git(self.work, "mv", src, dst)

    def delete(self, rel: str) -> None:
        git(self.work, "rm", "--quiet", rel)

    def commit(self, message: str, when: str | None = None) -> str:
        """Commit everything and push it; ``when`` (ISO 8601) is the commit's date."""
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message, when=when)
        git(self.work, "push", "--quiet", "origin", "main")
        return self.head()

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def force_push(self, reset_to: str, message: str = "rewritten", when: str | None = None) -> str:
        """Reset the branch to ``reset_to`` keeping the working files, commit them anew, force-push."""
        git(self.work, "reset", "--soft", reset_to)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message, when=when)
        git(self.work, "push", "--quiet", "--force", "origin", "main")
        git(self.remote, "reflog", "expire", "--expire=now", "--all")
        git(self.remote, "gc", "--quiet", "--prune=now")
        return self.head()

    def posts(self) -> list[str]:
        return sorted(
            p.relative_to(self.work).as_posix()
            for folder in ("_posts", "old_post")
            if (self.work / folder).is_dir()
            for p in (self.work / folder).rglob("*.md")
            if p.name.lower() != "readme.md"
        )
